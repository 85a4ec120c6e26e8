/**
 * Replicas share the CA and the encryption key the way docs/ha.md says: the same
 * `--tls-cert-file/--tls-key-file/--tls-ca-file` (an operator's own CA, made with
 * openssl here) and the same `DROVER_ENCRYPTION_KEY`, each replica with a data dir of
 * its own (copying the first replica's data dir instead is covered by
 * replicas-sync.test.ts). Then one CA answers on every replica, a secret encrypted by
 * one decrypts on the other, and a UI session made on one works on the other. A
 * replica started with another key cannot read those secrets and says so.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from '../testenv/index.ts';
import { createPostgresDatabase } from '../testenv/postgres.ts';
import { runCliForTest } from '../../src/testing/index.ts';
import { call, spawnServer, type ServerProcess } from './identity-support.ts';

const adminPassword = 'correct horse battery staple';

/** An operator's CA and a serving certificate for 127.0.0.1 signed by it. */
function operatorTls(dir: string): { ca: string; cert: string; key: string } {
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-subj', '/CN=operator-ca', '-days', '2'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=drover'], { stdio: 'ignore' });
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  execFileSync('openssl', ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.crt'), '-days', '2', '-extfile', file('san.ext')], { stdio: 'ignore' });
  return { ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

describe('replicas share the CA and the encryption key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-shared-keys-'));
  const replicas: ServerProcess[] = [];
  let tls: { ca: string; cert: string; key: string };
  let dbUrl: string;
  let publicUrl: string;
  const key = randomBytes(32).toString('hex');

  const start = async (name: string, encryptionKey: string, port?: number): Promise<ServerProcess> => {
    const server = await spawnServer({
      dataDir: join(dir, name), db: dbUrl, ...(port ? { port } : {}),
      env: { DROVER_BOOTSTRAP_PASSWORD: adminPassword, DROVER_ENCRYPTION_KEY: encryptionKey },
      args: ['--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-file', tls.ca, '--public-url', publicUrl],
    });
    // Its CA is the operator's file, not one in its data dir.
    const withCa = { ...server, caPem: () => readFileSync(tls.ca, 'utf8') };
    replicas.push(withCa);
    return withCa;
  };
  /** `drover …` as the admin, logged in through `server`. */
  const cliOn = async (server: ServerProcess, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const configPath = join(dir, `cli-${server.port}.json`);
    const login = await runCliForTest(['login', server.url, '--username', 'admin', '--password', adminPassword, '--ca-file', tls.ca], { configPath, env: {} });
    assert.equal(login.code, 0, login.stderr);
    return runCliForTest(argv, { configPath, env: {} });
  };
  const cacerts = async (server: ServerProcess): Promise<string> => {
    const agent = new Agent({ connect: { ca: server.caPem() } });
    try {
      const res = await request(`${server.url}/cacerts`, { dispatcher: agent });
      return await res.body.text();
    } finally {
      await agent.close();
    }
  };

  before(async () => {
    tls = operatorTls(dir);
    dbUrl = await createPostgresDatabase('shared_keys');
    // The load balancer's address in production; here the first replica's.
    const port = await freePort();
    publicUrl = `https://127.0.0.1:${port}`;
    await start('one', key, port);
    await start('two', key);
  });

  after(async () => {
    for (const r of replicas) await r.stop();
  });

  it('serves the operator\'s CA on every replica, under the serving certificate it signed', async () => {
    const ca = readFileSync(tls.ca, 'utf8');
    for (const r of replicas) assert.equal((await cacerts(r)).trim(), ca.trim());
  });

  it('decrypts on one replica what the other encrypted (a registration token)', async () => {
    const [one, two] = replicas as [ServerProcess, ServerProcess];
    const created = await cliOn(one, 'clusters', 'create', 'shared', '-o', 'json');
    assert.equal(created.code, 0, created.stderr);
    const token = (JSON.parse(created.stdout) as { registration: { token: string } }).registration.token;
    const shown = await cliOn(two, 'clusters', 'get', 'shared', '--registration', '-o', 'json');
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(shown.stdout.includes(token), 'replica 2 shows the token replica 1 stored encrypted');
  });

  it('accepts on one replica the UI session (cookie and CSRF token) made on the other', async () => {
    const [one, two] = replicas as [ServerProcess, ServerProcess];
    const session = await call(one, 'POST', '/v1/session', { body: { username: 'admin', password: adminPassword }, headers: { origin: publicUrl } });
    assert.equal(session.status, 200, session.text);
    const cookie = ([session.headers['set-cookie']].flat()[0] ?? '').split(';')[0] ?? '';
    const csrf = (session.json() as { csrfToken: string }).csrfToken;
    const whoami = await call(two, 'GET', '/v1/whoami', { headers: { cookie, origin: publicUrl, 'x-drover-csrf': csrf } });
    assert.equal(whoami.status, 200, whoami.text);
    const forged = await call(two, 'GET', '/v1/whoami', { headers: { cookie, origin: publicUrl, 'x-drover-csrf': `${csrf.slice(0, -2)}AA` } });
    assert.notEqual(forged.status, 200, 'a CSRF token that is not the session\'s is still refused');
  });

  it('a replica started with another encryption key refuses to start, and says which key is wrong', async () => {
    // The first stored secret it needs (the replicas' peer CA) cannot be decrypted: it stops at once, naming the key.
    await assert.rejects(start('stray', randomBytes(32).toString('hex')), /wrong DROVER_ENCRYPTION_KEY/);
  });
});
