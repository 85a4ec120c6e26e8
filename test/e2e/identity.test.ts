/**
 * The identity core end to end: a real `drover server` process, driven through
 * the CLI in-process (runCliForTest), on SQLite and on a real PostgreSQL.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeConfig } from '../../src/cli/client/index.ts';
import { runCliForTest, type CliResult } from '../../src/testing/index.ts';
import { createPostgresDatabase } from '../testenv/postgres.ts';
import { spawnServer, type ServerProcess } from './identity-support.ts';

const adminPassword = 'bootstrap-admin-password-e2e';
const bobPassword = 'bob-has-a-long-password';
const dirs: string[] = [];
const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.kill9();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drover-identity-e2e-'));
  dirs.push(dir);
  return dir;
}

async function start(dataDir: string, db?: string, env: NodeJS.ProcessEnv = { DROVER_BOOTSTRAP_PASSWORD: adminPassword }, port?: number): Promise<ServerProcess> {
  const server = await spawnServer({ dataDir, ...(db ? { db } : {}), env, ...(port ? { port } : {}) });
  servers.push(server);
  return server;
}

function ok(result: CliResult, what: string): string {
  assert.equal(result.code, 0, `${what} failed: ${result.stderr}`);
  return result.stdout;
}

function json<T>(result: CliResult, what: string): T {
  return JSON.parse(ok(result, what)) as T;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

for (const engine of ['SQLite', 'PostgreSQL'] as const) {
  describe(`drover server and CLI on ${engine}`, () => {
    it('bootstraps, logs in, manages users and tokens, and keeps everything across a restart and a kill -9', async () => {
      const dir = tempDir();
      const dataDir = join(dir, 'data');
      const db = engine === 'PostgreSQL' ? await createPostgresDatabase('e2e') : undefined;
      let server = await start(dataDir, db);
      const adminCfg = join(dir, 'admin', 'config.json');
      const bobCfg = join(dir, 'bob', 'config.json');
      const admin = (args: string[], stdin?: string): Promise<CliResult> => runCliForTest(args, { configPath: adminCfg, ...(stdin === undefined ? {} : { stdin }) });
      const bob = (args: string[], stdin?: string): Promise<CliResult> => runCliForTest(args, { configPath: bobCfg, ...(stdin === undefined ? {} : { stdin }) });

      // Login pinning the CA by the checksum of exactly the bytes /cacerts serves.
      const checksum = sha256(readFileSync(join(dataDir, 'ca.crt'), 'utf8'));
      ok(await admin(['login', server.url, '--username', 'admin', '--password-stdin', '--ca-checksum', checksum], `${adminPassword}\n`), 'admin login');
      assert.equal(statSync(adminCfg).mode & 0o777, 0o600);
      const saved = JSON.parse(readFileSync(adminCfg, 'utf8')) as { token: string; caPem: string };
      assert.equal(saved.caPem, server.caPem());
      const me = json<{ id: string; username: string; globalRole: string }>(await admin(['whoami', '-o', 'json']), 'whoami');
      assert.equal(me.username, 'admin');
      assert.equal(me.globalRole, 'admin');
      assert.match(me.id, /^u-/);

      // A wrong checksum is refused before any password is sent.
      const pinned = await admin(['login', server.url, '--username', 'admin', '--password', adminPassword, '--ca-checksum', 'ab'.repeat(32)]);
      assert.equal(pinned.code, 1);
      assert.match(pinned.stderr, /checksum/);

      ok(await admin(['users', 'create', 'bob', '--password', bobPassword]), 'users create bob');
      const users = json<Array<{ username: string; enabled: boolean }>>(await admin(['users', 'list', '-o', 'json']), 'users list');
      assert.deepEqual(users.map((u) => u.username).sort(), ['admin', 'bob']);
      assert.match(ok(await admin(['users', 'list']), 'users list table'), /^ID\s+USERNAME\s+DISPLAY NAME/);

      const caFile = join(dataDir, 'ca.crt');
      ok(await bob(['login', server.url, '--username', 'bob', '--password-stdin', '--ca-file', caFile], bobPassword), 'bob login');
      const bobMe = json<{ id: string; username: string; globalRole: string }>(await bob(['whoami', '-o', 'json']), 'bob whoami');
      assert.equal(bobMe.globalRole, 'user');
      const forbidden = await bob(['users', 'list']);
      assert.equal(forbidden.code, 1);
      assert.match(forbidden.stderr, /only admins/);

      const bobTokens = json<Array<{ id: string; current: boolean }>>(await bob(['tokens', 'list', '-o', 'json']), 'bob tokens');
      assert.equal(bobTokens.length, 1);
      assert.equal(bobTokens[0]?.current, true);
      const all = json<Array<{ id: string; userId: string }>>(await admin(['tokens', 'list', '--all', '-o', 'json']), 'tokens --all');
      assert.ok(all.some((t) => t.id === bobTokens[0]?.id && t.userId === bobMe.id));

      // An API token, used, then revoked: refused at once.
      const issued = json<{ token: string; tokenId: string }>(await admin(['tokens', 'create', '--description', 'ci', '-o', 'json']), 'tokens create');
      const apiCfg = join(dir, 'api', 'config.json');
      writeConfig(apiCfg, { server: server.url, token: issued.token, caPem: server.caPem() });
      ok(await runCliForTest(['whoami'], { configPath: apiCfg }), 'whoami with the API token');
      ok(await admin(['tokens', 'revoke', issued.tokenId]), 'tokens revoke');
      const revoked = await runCliForTest(['whoami'], { configPath: apiCfg });
      assert.equal(revoked.code, 1);
      assert.match(revoked.stderr, /invalid or revoked token/);

      // Restart: users and tokens are still there.
      assert.equal(await server.stop(), 0, 'graceful stop exits 0');
      server = await start(dataDir, db, undefined, server.port);
      assert.equal(json<{ username: string }>(await admin(['whoami', '-o', 'json']), 'whoami after restart').username, 'admin');
      assert.equal(json<{ username: string }>(await bob(['whoami', '-o', 'json']), 'bob whoami after restart').username, 'bob');
      const restartedUsers = json<Array<{ username: string }>>(await admin(['users', 'list', '-o', 'json']), 'users list after restart');
      assert.deepEqual(restartedUsers.map((u) => u.username).sort(), ['admin', 'bob']);

      // Disable bob: his token is revoked at once and for good; enabled again, he logs in again.
      ok(await admin(['users', 'disable', 'bob']), 'disable bob');
      const disabled = await bob(['whoami']);
      assert.equal(disabled.code, 1);
      assert.match(disabled.stderr, /invalid or revoked token/);
      assert.match((await bob(['login', server.url, '--username', 'bob', '--password', bobPassword])).stderr, /user is disabled/);
      ok(await admin(['users', 'enable', 'bob']), 'enable bob');
      assert.match((await bob(['whoami'])).stderr, /invalid or revoked token/, 'enabling brings no old token back');
      ok(await bob(['login', server.url, '--username', 'bob', '--password', bobPassword]), 'bob logs in again');
      ok(await bob(['whoami']), 'bob whoami after enable');

      // Logout revokes server-side.
      ok(await bob(['logout']), 'bob logout');
      assert.match((await bob(['whoami'])).stderr, /not logged in/);
      const left = json<Array<{ userId: string }>>(await admin(['tokens', 'list', '--user', 'bob', '-o', 'json']), 'bob tokens after logout');
      assert.equal(left.length, 0);

      // kill -9 right after a write: the write is there after restart.
      ok(await admin(['users', 'create', 'carol', '--password', 'carol-password-long']), 'create carol');
      await server.kill9();
      server = await start(dataDir, db, undefined, server.port);
      const afterKill = json<Array<{ username: string }>>(await admin(['users', 'list', '-o', 'json']), 'users after kill -9');
      assert.ok(afterKill.some((u) => u.username === 'carol'));

      // Delete carol: gone, and she cannot log in.
      ok(await admin(['users', 'delete', 'carol']), 'delete carol');
      const carolLogin = await runCliForTest(['login', server.url, '--username', 'carol', '--password', 'carol-password-long', '--ca-file', caFile], { configPath: join(dir, 'carol.json') });
      assert.equal(carolLogin.code, 1);
      assert.match(carolLogin.stderr, /invalid username or password/);

      // Neither password nor any token secret ever reached the server's log.
      const logs = server.output();
      for (const secret of [adminPassword, bobPassword, 'carol-password-long', saved.token.split(':')[1] ?? '?', issued.token.split(':')[1] ?? '?']) {
        assert.ok(!logs.includes(secret), 'a secret appeared in the server output');
      }
      await server.stop();
    });
  });
}

describe('first start without DROVER_BOOTSTRAP_PASSWORD', () => {
  it('prints a random admin password exactly once; it works only to change it, with drover passwd', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    let server = await start(dataDir, undefined, {});
    const match = /password is shown only this once:\n\s+(\S+)/.exec(server.output());
    assert.ok(match?.[1], `no bootstrap password in: ${server.output().slice(0, 500)}`);
    const password = match[1];
    const cfg = join(dir, 'config.json');
    const insecure = await runCliForTest(['login', server.url, '--username', 'admin', '--password-stdin', '--insecure-skip-tls-verify'], { configPath: cfg, stdin: password });
    assert.equal(insecure.code, 1, insecure.stderr);
    assert.match(insecure.stderr, /WARNING: --insecure-skip-tls-verify/);
    assert.match(insecure.stderr, /the password must be changed before anything else: run "drover passwd"/);
    assert.match((await runCliForTest(['users', 'list'], { configPath: cfg })).stderr, /you must change your password/);
    ok(await runCliForTest(['passwd', '--password-stdin'], { configPath: cfg, stdin: `${password}\nthe-admins-own-password\n` }), 'passwd');
    ok(await runCliForTest(['users', 'list'], { configPath: cfg }), 'users list after the change');
    await server.stop();
    server = await start(dataDir, undefined, {}, server.port);
    assert.doesNotMatch(server.output(), /shown only this once/);
    ok(await runCliForTest(['whoami'], { configPath: cfg }), 'whoami after restart');
    const logLines = server.output().split('\n').filter((l) => l.startsWith('{'));
    assert.ok(logLines.length > 0);
    for (const line of logLines) assert.ok(!line.includes(password), 'the bootstrap password appeared in a log line');
    await server.stop();
  });
});
