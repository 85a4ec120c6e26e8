/**
 * README's "Start here", followed literally on a fresh clone: `git clone` of this
 * checkout's HEAD, then each command of the section's first shell block as written,
 * up to the test-suite line, then the block that installs the CLI and logs in: install
 * and start the server, pack and install the CLI into a temporary npm prefix, log in at
 * a terminal with the password the server printed at the URL it printed, choosing the
 * new password the login asks for. Every command after the server's runs with a PATH that has Node
 * and npm but no compiler (no cc, make or python3), so "the CLI installs without a
 * compiler" is checked too. Then
 * the installed `drover` mints an exec-plugin token, refuses `server` with a clear
 * message once its native SQLite driver is gone, and a real Chromium logs in at the
 * printed URL.
 *
 * The URL and the password are read from what the server prints (whatever its
 * wording), so the test follows the server's own instructions. The only change to
 * the commands: the server line gets `--listen 127.0.0.1:<free port>`, since the
 * machine is shared.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { waitFor } from '../testenv/wait.ts';
import { launchBrowser } from '../testenv/browser.ts';
import { atTerminal, freePort, type TerminalRun } from '../testenv/index.ts';

const root = resolve(import.meta.dirname, '..', '..');

/**
 * The commands of README's "Start here": its first shell block up to (not including) the
 * one that runs the test suite, then the block that installs the CLI and logs in.
 */
function startHereCommands(readme: string): string[] {
  const section = /^## Start here\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')));
  const first = blocks[0] ?? [];
  const suite = first.findIndex((l) => /\bnpm test\b/.test(l));
  return [...(suite < 0 ? first : first.slice(0, suite)), ...(blocks[1] ?? [])];
}

/** A folder of links to exactly the tools the commands may use: Node, npm and a shell, no compiler. */
function toolsWithoutCompiler(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const which = (tool: string): string => spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  symlinkSync(process.execPath, join(dir, 'node'));
  for (const tool of ['npm', 'npx', 'sh', 'bash', 'chmod', 'env', 'git']) {
    const found = which(tool);
    if (found) symlinkSync(found, join(dir, tool));
  }
  return dir;
}

interface Ran { code: number | null; stdout: string; stderr: string }

function run(command: string, options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Ran {
  const result = spawnSync('/bin/bash', ['-c', command], {
    cwd: options.cwd, env: options.env, input: options.input ?? '', encoding: 'utf8', timeout: options.timeoutMs ?? 600_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every https origin the server printed that answers /healthz, in the order printed. */
async function printedUrls(output: string): Promise<string[]> {
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  const origins = [...new Set([...output.matchAll(/https:\/\/[^\s"'<>)]+/g)].map((m) => {
    try {
      return new URL(m[0]).origin;
    } catch {
      return '';
    }
  }).filter((u) => u !== ''))];
  const answering: string[] = [];
  try {
    for (const origin of origins) {
      const ok = await request(`${origin}/healthz`, { dispatcher: insecure, headersTimeout: 5_000 }).then(async (res) => {
        await res.body.text();
        return res.statusCode === 200;
      }, () => false);
      if (ok) answering.push(origin);
    }
  } finally {
    await insecure.close();
  }
  return answering;
}

/** What in the server's output could be the admin password: a lone word after a line about it, one after "password:", or a file it names. */
function passwordCandidates(output: string, cwd: string): string[] {
  const lines = output.split('\n');
  const found: string[] = [];
  lines.forEach((line, i) => {
    if (!/password/i.test(line)) return;
    const inline = /password[^:\n]*:\s*(\S{8,})\s*$/i.exec(line)?.[1];
    if (inline) found.push(inline);
    const next = lines[i + 1]?.trim() ?? '';
    if (/^\S{8,}$/.test(next)) found.push(next);
    for (const m of line.matchAll(/(\.{0,2}\/?[\w./-]*password[\w./-]*)/gi)) {
      const path = resolve(cwd, m[1] ?? '');
      if (existsSync(path)) found.push(readFileSync(path, 'utf8').trim());
    }
  });
  return [...new Set(found)];
}

describe('README "Start here" on a fresh clone', { timeout: 1_200_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-start-here-'));
  let server: ChildProcess | undefined;
  after(() => {
    if (server?.pid !== undefined && server.exitCode === null) {
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('installs, starts, installs the CLI without a compiler, and logs in with the printed password at the printed URL', async () => {
    const clone = join(dir, 'drover');
    const cloned = spawnSync('git', ['clone', '--quiet', root, clone], { encoding: 'utf8' });
    assert.equal(cloned.status, 0, cloned.stderr);
    const commands = startHereCommands(readFileSync(join(clone, 'README.md'), 'utf8'));
    assert.ok(commands.length >= 3, `README's Start here has the install, start and login commands: ${JSON.stringify(commands)}`);

    const prefix = join(dir, 'npm-global');
    // A newcomer's environment: this one's (proxy and CA settings included) without npm's or Drover's variables.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|DROVER_)/i.test(k)));
    const env: NodeJS.ProcessEnv = {
      ...inherited, TERM: 'dumb',
      PATH: [join(prefix, 'bin'), toolsWithoutCompiler(join(dir, 'tools'))].join(delimiter),
      // `npm install -g` lands in a prefix of the test's own; the CLI's login in a config of its own.
      npm_config_prefix: prefix, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false',
      DROVER_CONFIG: join(dir, 'drover-config.json'),
    };
    const port = await freePort();
    let output = '';
    let url: string | undefined;
    let password: string | undefined;
    const chosenPassword = 'the-newcomers-own-password';
    for (const command of commands) {
      if (/\bserver\b/.test(command) && !/<URL>/.test(command)) {
        // The long-running one: started as written (with a port of its own), then its own words are read.
        // The server's machine keeps its compiler: `npm ci` builds the SQLite driver from source
        // (npm runs node-gyp for lockfile installs of a package with a binding.gyp).
        server = spawn('/bin/bash', ['-c', `${command} --listen 127.0.0.1:${port}`], {
          cwd: clone, env: { ...env, PATH: `${process.env.PATH ?? ''}` }, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
        });
        for (const s of [server.stdout, server.stderr]) s?.on('data', (c: Buffer) => { output += c.toString(); });
        let exited: string | undefined;
        server.on('exit', (code, signal) => { exited = `"${command}" exited (${code ?? signal})`; });
        await waitFor('the server to print a URL that answers', 900_000, () => exited, async () => {
          url = (await printedUrls(output))[0];
          return url !== undefined;
        }, () => output.slice(-4000));
        continue;
      }
      if (/<URL>/.test(command)) {
        assert.ok(url, 'the server printed its URL before the login step');
        const line = command.replaceAll('<URL>', url);
        // At a terminal, as the README says: the printed password, then the new one it asks for (a generated one must be changed).
        // Stops at the first candidate that works: each wrong guess counts against the login throttle.
        const tried: TerminalRun[] = [];
        for (const candidate of passwordCandidates(output, clone)) {
          tried.push(await atTerminal(line, {
            cwd: clone, env, timeoutMs: 60_000,
            dialogue: [[/Password for admin at \S+: /, candidate], [/New password: /, chosenPassword], [/New password again: /, chosenPassword]],
          }));
          if (tried.at(-1)?.code === 0) {
            password = chosenPassword;
            break;
          }
        }
        assert.ok(password, `"${line}" with the printed password: ${JSON.stringify(tried)}\nserver said:\n${output.slice(-3000)}`);
        continue;
      }
      const ran = run(command, { cwd: clone, env });
      assert.equal(ran.code, 0, `"${command}" failed:\n${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
    }
    assert.ok(url, 'the server was started and printed its URL');

    // The installed drover (not the clone's), for the client verbs.
    const drover = run('command -v drover', { cwd: dir, env }).stdout.trim();
    assert.ok(drover.startsWith(prefix), `drover comes from the npm prefix: ${drover}`);
    const version = run('drover version -o json', { cwd: dir, env });
    assert.equal(version.code, 0, version.stderr);
    assert.equal((JSON.parse(version.stdout) as { node: string }).node, process.version);
    const whoami = run('drover whoami -o json', { cwd: dir, env });
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.equal((JSON.parse(whoami.stdout) as { username: string }).username, 'admin');
    const created = run('drover clusters create start-here', { cwd: dir, env });
    assert.equal(created.code, 0, created.stderr);
    const token = run('drover token --cluster start-here', { cwd: dir, env });
    assert.equal(token.code, 0, token.stderr);
    const credential = JSON.parse(token.stdout) as { kind: string; status: { token: string } };
    assert.equal(credential.kind, 'ExecCredential');
    assert.match(credential.status.token, /^token-[^:]+:\S+$/);

    // Without its native SQLite driver the installed CLI still runs client verbs, and `server` says what to do.
    rmSync(join(prefix, 'lib', 'node_modules', 'drover', 'node_modules', 'better-sqlite3'), { recursive: true, force: true });
    const noSqlite = run(`drover server --data-dir ${join(dir, 'no-sqlite')} --listen 127.0.0.1:0`, { cwd: dir, env, timeoutMs: 60_000 });
    assert.notEqual(noSqlite.code, 0);
    assert.match(noSqlite.stderr, /the SQLite store needs the native module better-sqlite3.*--db postgres:\/\//);
    assert.equal(run('drover version', { cwd: dir, env }).code, 0);
    const help = run('drover --help', { cwd: dir, env });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^\s+server\b/m, 'help still lists every command');

    // The same URL and password in a real browser.
    const browser = await launchBrowser();
    try {
      await browser.page.goto(`${url}/`);
      await browser.page.getByLabel('Username').fill('admin');
      await browser.page.getByLabel('Password', { exact: true }).fill(password ?? '');
      await browser.page.getByRole('button', { name: 'Log in' }).click();
      await browser.page.getByRole('heading', { name: /Clusters|password/i }).first().waitFor({ timeout: 30_000 });
    } finally {
      await browser.close();
    }
  });
});
