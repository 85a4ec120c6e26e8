/**
 * `drover login` and `drover passwd` at a terminal (a pseudo-terminal from
 * script(1)) against a real `drover server` whose admin password was generated:
 * trust on first use of the server CA, the password asked with echo off, the due
 * password change asked at once; and without a terminal, refusals that name the flag.
 * Last, `drover logout` against a stopped server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliForTest } from '../../src/testing/index.ts';
import { spawnServer, type ServerProcess } from './identity-support.ts';
import { atTerminal, type TerminalRun } from '../testenv/index.ts';

const root = join(import.meta.dirname, '..', '..');
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `drover ARGS` from this checkout in a pseudo-terminal, typing each answer once its question is on screen. */
function droverAtTerminal(args: string[], config: string, dialogue: Array<[RegExp, string]>): Promise<TerminalRun> {
  const command = ['node', '--import', 'tsx', 'src/cli/main.ts', ...args].map((a) => `'${a}'`).join(' ');
  return atTerminal(command, { cwd: root, env: { ...process.env, DROVER_CONFIG: config }, dialogue });
}

describe('drover login and passwd at a terminal', () => {
  let dir: string;
  let server: ServerProcess;
  let generated: string;
  let checksum: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drover-login-tty-'));
    server = await spawnServer({ dataDir: join(dir, 'data'), env: { DROVER_BOOTSTRAP_PASSWORD: '' } });
    generated = /password is shown only this once:\n\s+(\S+)/.exec(server.output())?.[1] ?? '';
    assert.ok(generated, server.output());
    checksum = createHash('sha256').update(server.caPem()).digest('hex');
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a terminal, refuses an untrusted CA naming --ca-checksum with its checksum, and a missing password naming the flags', async () => {
    const config = join(dir, 'script.json');
    const untrusted = await runCliForTest(['login', server.url, '--username', 'admin', '--password-stdin'], { configPath: config, stdin: `${generated}\n` });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, new RegExp(`--ca-checksum ${checksum}`));
    assert.equal(existsSync(config), false, 'nothing saved');
    const noPassword = await runCliForTest(['login', server.url, '--username', 'admin', '--ca-checksum', checksum], { configPath: config });
    assert.equal(noPassword.code, 1);
    assert.match(noPassword.stderr, /--password or --password-stdin: expected a password \(stdin is not a terminal to ask on\)/);
  });

  it('a declined CA sends nothing and saves nothing', async () => {
    const config = join(dir, 'declined.json');
    const run = await droverAtTerminal(['login', server.url, '--username', 'admin'], config, [[/\[y\/N\] /, 'n']]);
    assert.notEqual(run.code, 0, run.output);
    assert.match(run.output, /CA was not trusted: nothing was sent or saved/);
    assert.equal(existsSync(config), false);
  });

  it('shows the CA checksum and pins it when accepted, asks the password with echo off, and the due new password twice', async () => {
    const config = join(dir, 'admin.json');
    const chosen = 'the-admins-chosen-password';
    const run = await droverAtTerminal(['login', server.url, '--username', 'admin'], config, [
      [/Trust this CA and save it with the login\? \[y\/N\] /, 'y'],
      [/Password for admin at https:\/\/\S+: /, generated],
      [/New password: /, chosen],
      [/New password again: /, chosen],
    ]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, new RegExp(`SHA-256:\\s+${checksum}`));
    assert.match(run.output, /The password of admin must be changed now\.[\s\S]*Password changed\.[\s\S]*Logged in to https:\/\/\S+ as admin/);
    for (const secret of [generated, chosen]) assert.doesNotMatch(run.output, new RegExp(escape(secret)), 'a password was echoed');
    const saved = JSON.parse(readFileSync(config, 'utf8')) as { caPem: string };
    assert.equal(saved.caPem, server.caPem(), 'the accepted CA is pinned');
    assert.equal((await runCliForTest(['tokens', 'create', '-o', 'json'], { configPath: config })).code, 0, 'the login opens everything');

    // The next login to the same server asks nothing about the CA.
    const again = await droverAtTerminal(['login', server.url, '--username', 'admin'], config, [[/Password for admin at \S+: /, chosen]]);
    assert.equal(again.code, 0, again.output);
    assert.doesNotMatch(again.output, /Trust this CA/);
  });

  it('drover passwd asks the current password and the new one twice, with echo off, and refuses two different new ones', async () => {
    const config = join(dir, 'admin.json');
    const mismatch = await droverAtTerminal(['passwd'], config, [
      [/Current password: /, 'the-admins-chosen-password'], [/New password: /, 'first-new-password-x'], [/New password again: /, 'second-new-password-y'],
    ]);
    assert.notEqual(mismatch.code, 0, mismatch.output);
    assert.match(mismatch.output, /the two new passwords differ: nothing was changed/);
    const run = await droverAtTerminal(['passwd'], config, [
      [/Current password: /, 'the-admins-chosen-password'], [/New password: /, 'a-third-admin-password'], [/New password again: /, 'a-third-admin-password'],
    ]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Password changed\./);
    assert.doesNotMatch(run.output, /the-admins-chosen-password|a-third-admin-password/);
    const login = await runCliForTest(['login', server.url, '--username', 'admin', '--password', 'a-third-admin-password'], { configPath: config });
    assert.equal(login.code, 0, login.stderr);
  });

  it('drover logout with the server unreachable forgets the login anyway and says the token was not revoked', async () => {
    const config = join(dir, 'admin.json');
    await server.stop();
    const logout = await runCliForTest(['logout'], { configPath: config });
    assert.equal(logout.code, 0, logout.stderr);
    assert.match(logout.stderr, /the server did not revoke the token \(cannot reach https:\/\/\S+[^)]*\); it was forgotten here, but stays valid until it expires or an admin revokes it \("drover tokens revoke token-[a-z0-9]+"\)/);
    const saved = JSON.parse(readFileSync(config, 'utf8')) as { token?: string; server: string; caPem?: string };
    assert.equal(saved.token, undefined);
    assert.equal(saved.caPem, server.caPem(), 'the server and its CA are kept for the next login');
  });
});
