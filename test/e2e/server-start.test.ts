/**
 * "Start here", as a user would see it: a real `drover server` process on a loopback
 * port, no --public-url. What it prints (URL, CA checksum, admin password) is what
 * works: the CLI logs in with the printed checksum and password (then changes it, as a
 * generated password must be), a browser page at the
 * printed URL gets a session, and one anywhere else is told which origin to use. Logs
 * are readable with --log-format text and JSON on a pipe. A second server on the same
 * port fails before it creates anything.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliForTest } from '../../src/testing/index.ts';
import { call, spawnServer, type ServerProcess } from './identity-support.ts';

const root = join(import.meta.dirname, '..', '..');

describe('drover server start-up as the README describes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-start-'));
  const servers: ServerProcess[] = [];
  after(async () => { for (const s of servers) await s.stop(); });

  it('prints the URL, CA checksum and admin password that then work in the CLI and the browser', async () => {
    // An empty DROVER_BOOTSTRAP_PASSWORD means "not set": the server chooses one and shows it.
    const server = await spawnServer({ dataDir: join(dir, 'text'), env: { DROVER_BOOTSTRAP_PASSWORD: '' }, args: ['--log-format', 'text'] });
    servers.push(server);
    const out = server.output();
    const url = /^Open: +(\S+)/m.exec(out)?.[1];
    assert.equal(url, `https://127.0.0.1:${server.port}`, out.slice(0, 2000));
    const checksum = /^CA checksum: ([0-9a-f]{64})$/m.exec(out)?.[1];
    const cacerts = await call(server, 'GET', '/cacerts');
    assert.equal(checksum, createHash('sha256').update(cacerts.text, 'utf8').digest('hex'), 'the printed checksum is the sha256 of /cacerts');
    const password = /password is shown only this once:\n\s+(\S+)/.exec(out)?.[1] ?? '';
    assert.ok(password.length >= 12, out.slice(0, 2000));
    assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}drover server listening url=https:\/\/127\.0\.0\.1:\d+ /m, 'readable log lines');

    // The generated password logs in, but only to be changed (without a terminal, login saves it for `drover passwd`).
    const configPath = join(dir, 'cli.json');
    const login = await runCliForTest(['login', url, '--username', 'admin', '--password-stdin', '--ca-checksum', checksum ?? ''], { configPath, stdin: password });
    assert.equal(login.code, 1, login.stderr);
    assert.match(login.stderr, /the password must be changed before anything else: run "drover passwd"/);
    const chosen = 'the-admins-own-start-password';
    const passwd = await runCliForTest(['passwd', '--password-stdin'], { configPath, stdin: `${password}\n${chosen}\n` });
    assert.equal(passwd.code, 0, passwd.stderr);
    assert.equal((await runCliForTest(['tokens', 'list'], { configPath })).code, 0, 'the saved login opens everything once the password is changed');
    // A browser on the printed URL sends that Origin; one on another name for the same server is told what to use.
    const here = await call(server, 'POST', '/v1/session', { headers: { origin: url, 'sec-fetch-site': 'same-origin' }, body: { username: 'admin', password: chosen } });
    assert.equal(here.status, 200, here.text);
    const elsewhere = await call(server, 'POST', '/v1/session', { headers: { origin: `https://localhost:${server.port}` }, body: { username: 'admin', password: chosen } });
    assert.equal(elsewhere.status, 403);
    assert.match((elsewhere.json() as { message: string }).message, new RegExp(`only from ${url.replace(/\./g, '\\.')} \\(its --public-url\\)\\. Open ${url.replace(/\./g, '\\.')} instead`));
  });

  it('logs JSON when stderr is not a terminal, with the summary as fields and no password', async () => {
    const server = await spawnServer({ dataDir: join(dir, 'json'), env: { DROVER_BOOTSTRAP_PASSWORD: 'json-start-password' } });
    servers.push(server);
    const lines = server.output().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('(node:') && !l.startsWith('(Use `node'));
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
    const listening = lines.map((l) => JSON.parse(l) as Record<string, string>).find((l) => l.msg === 'drover server listening');
    assert.equal(listening?.url, server.url);
    assert.equal(listening?.adminPassword, 'DROVER_BOOTSTRAP_PASSWORD');
    assert.match(listening?.caChecksum ?? '', /^[0-9a-f]{64}$/);
    assert.ok(!server.output().includes('json-start-password'));
  });

  it('refuses a second server on a busy port before creating a data dir, database or admin', async () => {
    const busy = servers[0];
    assert.ok(busy);
    const dataDir = join(dir, 'second');
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', '--data-dir', dataDir, '--listen', `127.0.0.1:${busy.port}`],
        { cwd: root, env: { ...process.env, DROVER_BOOTSTRAP_PASSWORD: 'second-server-password' }, timeout: 60_000 }, (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }));
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy.port}: the address is already in use \\(is another drover server running\\?\\); stop it or choose another --listen`));
    assert.equal(existsSync(dataDir), false, 'no data dir, so no database and no admin');
    assert.equal((await call(busy, 'GET', '/healthz')).status, 200, 'the first server is untouched');
  });
});
