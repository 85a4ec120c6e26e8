/**
 * `drover admin reset-password` on the server host, against the data dir (SQLite)
 * or the database (PostgreSQL), while a real `drover server` runs on it: a new
 * generated password, printed once and to be changed at first login, and every token
 * of the user refused by the running server within its cache's re-read interval.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliForTest } from '../../src/testing/index.ts';
import { createPostgresDatabase } from '../testenv/postgres.ts';
import { eventually } from '../testenv/wait.ts';
import { call, spawnServer, type ServerProcess } from './identity-support.ts';

const adminPassword = 'reset-test-admin-password';
const dirs: string[] = [];
const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) await s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

for (const engine of ['SQLite', 'PostgreSQL'] as const) {
  describe(`drover admin reset-password on ${engine}`, () => {
    it('resets the admin password while the server runs: printed once, must be changed, old tokens refused', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'drover-reset-e2e-'));
      dirs.push(dir);
      const dataDir = join(dir, 'data');
      const db = engine === 'PostgreSQL' ? await createPostgresDatabase('reset') : undefined;
      const server = await spawnServer({ dataDir, ...(db ? { db } : {}), env: { DROVER_BOOTSTRAP_PASSWORD: adminPassword } });
      servers.push(server);
      const login = await call(server, 'POST', '/v1/login', { body: { username: 'admin', password: adminPassword } });
      const oldToken = (login.json() as { token: string }).token;
      const api = ((await call(server, 'POST', '/v1/tokens', { token: oldToken, body: { description: 'automation' } })).json() as { token: string }).token;
      assert.equal((await call(server, 'GET', '/v1/whoami', { token: api })).status, 200);

      const where = db ? ['--db', db] : ['--data-dir', dataDir];
      const missing = await runCliForTest(['admin', 'reset-password', '--data-dir', join(dir, 'nowhere')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no drover\.db in .*nowhere.*--db/);
      const nobody = await runCliForTest(['admin', 'reset-password', ...where, '--username', 'nobody']);
      assert.match(nobody.stderr, /no user "nobody" in this database/);

      const reset = await runCliForTest(['admin', 'reset-password', ...where]);
      assert.equal(reset.code, 0, reset.stderr);
      const password = /New password for admin \(shown only now; it must be changed at first login\):\n\s+(\S+)/.exec(reset.stdout)?.[1];
      assert.ok(password, reset.stdout);

      // The running server re-reads its token cache within 5 s.
      for (const token of [oldToken, api]) {
        await eventually('the old token to be refused', async () => ((await call(server, 'GET', '/v1/whoami', { token })).status === 401 ? true : undefined), 30_000);
      }
      assert.equal((await call(server, 'POST', '/v1/login', { body: { username: 'admin', password: adminPassword } })).status, 401, 'the old password is gone');
      const fresh = await call(server, 'POST', '/v1/login', { body: { username: 'admin', password } });
      assert.equal(fresh.status, 200, fresh.text);
      assert.equal((fresh.json() as { user: { mustChangePassword: boolean } }).user.mustChangePassword, true);
      const token = (fresh.json() as { token: string }).token;
      assert.equal((await call(server, 'GET', '/v1/users', { token })).status, 403, 'nothing but the change until it is made');
      assert.equal((await call(server, 'POST', '/v1/users/me/password', { token, body: { currentPassword: password, newPassword: 'a-new-admin-password' } })).status, 204);
      assert.equal((await call(server, 'GET', '/v1/users', { token })).status, 200);
      assert.ok(!server.output().includes(password), 'the new password never reaches the server log');
    });
  });
}

describe('drover users update --password-stdin: an admin sets another user\'s password', () => {
  it('is a reset like reset-password: must be changed at first login, and every old token of the user is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-set-password-e2e-'));
    dirs.push(dir);
    const server = await spawnServer({ dataDir: join(dir, 'data'), env: { DROVER_BOOTSTRAP_PASSWORD: adminPassword } });
    servers.push(server);
    const configPath = join(dir, 'admin.json');
    const admin = (args: string[], stdin?: string) => runCliForTest(args, { configPath, ...(stdin === undefined ? {} : { stdin }) });
    const loggedIn = await admin(['login', server.url, '--username', 'admin', '--password-stdin', '--ca-file', join(server.dataDir, 'ca.crt')], `${adminPassword}\n`);
    assert.equal(loggedIn.code, 0, loggedIn.stderr);
    assert.equal((await admin(['users', 'create', 'ivy', '--password-stdin'], 'ivys-first-password\n')).code, 0);
    // Ivy's password leaked: whoever has it holds a session and an API token.
    const stolen = ((await call(server, 'POST', '/v1/login', { body: { username: 'ivy', password: 'ivys-first-password' } })).json() as { token: string }).token;
    const stolenApi = ((await call(server, 'POST', '/v1/tokens', { token: stolen, body: { description: 'persistence' } })).json() as { token: string }).token;

    const set = await admin(['users', 'update', 'ivy', '--password-stdin', '-o', 'json'], 'set-by-the-admin-1\n');
    assert.equal(set.code, 0, set.stderr);
    assert.equal((JSON.parse(set.stdout) as { mustChangePassword: boolean }).mustChangePassword, true);
    for (const token of [stolen, stolenApi]) assert.equal((await call(server, 'GET', '/v1/whoami', { token })).status, 401, 'an old token of ivy still works');

    const fresh = await call(server, 'POST', '/v1/login', { body: { username: 'ivy', password: 'set-by-the-admin-1' } });
    assert.equal((fresh.json() as { user: { mustChangePassword: boolean } }).user.mustChangePassword, true);
    const token = (fresh.json() as { token: string }).token;
    assert.equal((await call(server, 'POST', '/v1/tokens', { token, body: {} })).status, 403, 'nothing but the change until it is made');
    assert.equal((await call(server, 'POST', '/v1/users/me/password', { token, body: { currentPassword: 'set-by-the-admin-1', newPassword: 'only-ivy-knows-this' } })).status, 204);
    assert.equal((await call(server, 'POST', '/v1/tokens', { token, body: {} })).status, 201);
    // Once ivy chose her own, the tokens of the leak stay dead.
    assert.equal((await call(server, 'GET', '/v1/whoami', { token: stolenApi })).status, 401);

    // An admin's own password goes through "drover passwd", which asks for the current one.
    const self = await admin(['users', 'update', 'admin', '--password-stdin'], 'no-current-password-asked\n');
    assert.equal(self.code, 1);
    assert.match(self.stderr, /change your own password with "drover passwd" \(it asks for the current one\)/);
  });
});
