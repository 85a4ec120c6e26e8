/**
 * `drover token` against a stand-in server that counts requests: a cached token is
 * handed to each new kubectl without a round trip; the same kubectl asking again
 * (what client-go does after a 401) gets it checked and, when refused, replaced; a
 * kubeconfig that names another login is refused before anything is sent or read.
 */
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliForTest } from '../../testing/index.ts';
import { cachePath } from './token-cache.ts';

interface Seen { method: string; url: string; auth: string }

describe('drover token (exec plugin)', () => {
  let server: Server;
  let url: string;
  let dir: string;
  let configPath: string;
  let seen: Seen[] = [];
  /** Tokens the stand-in refuses on /v1/whoami. */
  const revoked = new Set<string>();
  let minted = 0;

  before(async () => {
    server = createServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/whoami') {
        const bad = revoked.has(auth.replace(/^Bearer /, ''));
        res.statusCode = bad ? 401 : 200;
        res.end(JSON.stringify(bad ? { code: 'DRV_ERR_UNAUTHENTICATED', message: 'token revoked' } : { username: 'alice' }));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/clusters/c-1/token') {
        minted += 1;
        res.end(JSON.stringify({ token: `token-m${minted}:secret`, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }));
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 'DRV_ERR_NOT_FOUND', message: 'no such route' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-token-'));
    configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ server: url, token: 'token-login:secret', username: 'alice' }));
    seen = [];
    revoked.clear();
  });

  /** One `drover token` run as kubectl process `asker` would start it. */
  const plugin = async (asker: number, ...extra: string[]): Promise<{ code: number; token?: string; stderr: string }> => {
    const result = await runCliForTest(['token', '--cluster', 'c-1', ...extra], { configPath, parentPid: asker });
    const token = result.code === 0 ? (JSON.parse(result.stdout) as { status: { token: string } }).status.token : undefined;
    return { code: result.code, stderr: result.stderr, ...(token === undefined ? {} : { token }) };
  };

  it('mints once, then hands the cached token to each new kubectl without any request', async () => {
    const first = await plugin(1001);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), ['POST /v1/clusters/c-1/token']);
    seen = [];
    for (const asker of [1002, 1003, 1004]) assert.equal((await plugin(asker)).token, first.token);
    assert.equal(seen.length, 0, 'no round trip while the cached token is valid');
    const cache = cachePath(configPath, { server: url, username: 'alice' }, 'c-1');
    assert.equal(statSync(cache).mode & 0o777, 0o600);
    rmSync(dir, { recursive: true, force: true });
  });

  it('checks the token when the same kubectl asks again, and replaces it when the server refuses it', async () => {
    const first = await plugin(2001);
    seen = [];
    // The same process asking again, the server still taking the token: kept, one whoami.
    assert.equal((await plugin(2001)).token, first.token);
    assert.deepEqual(seen.map((s) => `${s.method} ${s.url} ${s.auth}`), [`GET /v1/whoami Bearer ${first.token ?? ''}`]);
    // Revoked on the server; kubectl (2002) gets the cached token once, its 401 makes client-go ask again.
    revoked.add(first.token ?? '');
    seen = [];
    assert.equal((await plugin(2002)).token, first.token);
    assert.equal(seen.length, 0);
    const retried = await plugin(2002);
    assert.equal(retried.code, 0, retried.stderr);
    assert.notEqual(retried.token, first.token, 'a refused token is replaced');
    assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), ['GET /v1/whoami', 'POST /v1/clusters/c-1/token']);
    // The next kubectl gets the new one, again without a request.
    seen = [];
    assert.equal((await plugin(2003)).token, retried.token);
    assert.equal(seen.length, 0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a kubeconfig made for another user or server before reading the cache or sending anything', async () => {
    await plugin(3001);
    seen = [];
    const otherUser = await plugin(3002, '--server', url, '--user', 'admin');
    assert.equal(otherUser.code, 1);
    assert.equal(otherUser.token, undefined);
    assert.match(otherUser.stderr, new RegExp(`this kubeconfig is for admin at ${url}, but the Drover login in ${configPath} is alice at ${url}: log in as admin into a config file of its own \\(DROVER_CONFIG=~/\\.config/drover/admin\\.json drover login ${url} --username admin\\)`));
    const otherServer = await plugin(3003, '--server', 'https://drover.elsewhere.example', '--user', 'alice');
    assert.equal(otherServer.code, 1);
    assert.match(otherServer.stderr, /this kubeconfig is for alice at https:\/\/drover\.elsewhere\.example, but the Drover login/);
    // A server named with another spelling of the same URL (case, trailing slash) is the same login.
    const same = await plugin(3004, '--server', `${url.toUpperCase().replace('HTTP://', 'http://')}/`, '--user', 'alice');
    assert.equal(same.code, 0, same.stderr);
    assert.equal(seen.length, 0, 'nothing was sent for any of them');
    // An attacker's view: the user name is compared exactly, not as a prefix or case-folded.
    for (const user of ['Alice', 'alic', 'alice ', '']) {
      assert.equal((await plugin(3005, '--server', url, '--user', user)).code, 1, `user ${JSON.stringify(user)}`);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('says how to log in when there is no login, and never prints a token', async () => {
    rmSync(configPath);
    const result = await plugin(4001);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /not logged in: run "drover login URL --username NAME"/);
    rmSync(dir, { recursive: true, force: true });
  });
});
