/**
 * Kubeconfig token settings end to end: an admin changes them with the CLI and the
 * next kubeconfig (and `drover token`) follows at once; with token generation off,
 * the kubeconfig runs the `drover token` exec plugin and the machine's real kubectl
 * works with it through a real agent; a non-admin reads but cannot change them.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { spawn } from 'node:child_process';
import { kubectl, kubectlOk, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { runCliForTest } from '../../src/testing/index.ts';
import { adminPassword, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call } from './identity-support.ts';

interface SettingsView { defaultTtlSeconds: number; maxTtlSeconds: number; generateToken: boolean; source: string; updatedAt?: string }
interface Kubeconfig { users: Array<{ user: { token?: string; exec?: { command: string; args: string[] } } }> }

const root = resolve(import.meta.dirname, '../..');

describe('kubeconfig settings through the CLI, the API and kubectl', () => {
  let drover: Drover;
  let privateCp: PrivateControlPlane;
  let cluster: RegisteredCluster;
  let binDir: string;

  /** Seconds from now until the token expires, as the server says. */
  const lifetimeOf = async (token: string): Promise<number> => {
    const res = await call(drover.server, 'GET', '/v1/whoami', { token });
    assert.equal(res.status, 200, res.text);
    const expiresAt = (res.json() as { token: { expiresAt?: string } }).token.expiresAt;
    assert.ok(expiresAt, 'the token has an expiry');
    return (Date.parse(expiresAt) - Date.now()) / 1000;
  };
  const kubeconfigFile = async (): Promise<{ path: string; config: Kubeconfig }> => {
    const path = join(drover.dir, `kc-${randomBytes(3).toString('hex')}.yaml`);
    await drover.cli('kubeconfig', cluster.name, '--file', path);
    return { path, config: parseYaml(readFileSync(path, 'utf8')) as Kubeconfig };
  };

  before(async () => {
    privateCp = await startPrivateControlPlane();
    drover = await startDrover();
    cluster = await drover.registerCluster(`settings-${randomBytes(3).toString('hex')}`, privateCp.state);
    // The exec plugin is `drover` on PATH: a wrapper running this checkout's CLI.
    binDir = mkdtempSync(join(tmpdir(), 'drover-bin-'));
    writeFileSync(join(binDir, 'drover'), `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(root, 'src/cli/main.ts')}" "$@"\n`);
    chmodSync(join(binDir, 'drover'), 0o755);
  });
  after(async () => {
    await drover?.stop();
    await privateCp?.stop();
    if (binDir) rmSync(binDir, { recursive: true, force: true });
  });

  it('starts from the environment defaults, which anyone logged in may read', async () => {
    const view = JSON.parse(await drover.cli('settings', 'get', 'kubeconfig', '-o', 'json')) as SettingsView;
    assert.deepEqual(view, { defaultTtlSeconds: 30 * 86400, maxTtlSeconds: 90 * 86400, generateToken: true, source: 'environment' });
    const table = await drover.cli('settings', 'get', 'kubeconfig');
    assert.match(table, /^token-ttl\s+2592000 \(30d\)$/m);
    assert.match(table, /^generate-token\s+true$/m);
    const unknown = await drover.run('settings', 'get', 'nonsense');
    assert.match(unknown.stderr, /setting: expected one of kubeconfig/);
  });

  it('gives the next kubeconfig and plugin token the lifetime an admin sets with the CLI', async () => {
    const view = JSON.parse(await drover.cli('settings', 'set', 'kubeconfig', '--token-ttl', '15m', '-o', 'json')) as SettingsView;
    assert.equal(view.defaultTtlSeconds, 900);
    assert.equal(view.maxTtlSeconds, 90 * 86400, 'flags not given keep their value');
    assert.equal(view.source, 'stored');
    const { config } = await kubeconfigFile();
    const token = config.users[0]?.user.token ?? '';
    const lifetime = await lifetimeOf(token);
    assert.ok(lifetime > 840 && lifetime <= 900, `lifetime ${lifetime}`);
    // Asking for more than the maximum is refused with the maximum in the message.
    await drover.cli('settings', 'set', 'kubeconfig', '--max-token-ttl', '1200');
    const asked = join(drover.dir, 'asked.yaml');
    await drover.cli('kubeconfig', cluster.name, '--ttl', '1100', '--file', asked);
    const askedLifetime = await lifetimeOf((parseYaml(readFileSync(asked, 'utf8')) as Kubeconfig).users[0]?.user.token ?? '');
    assert.ok(askedLifetime > 1040 && askedLifetime <= 1100, `lifetime ${askedLifetime}`);
    const tooLong = await drover.run('kubeconfig', cluster.name, '--ttl', '1201');
    assert.notEqual(tooLong.code, 0);
    assert.match(tooLong.stderr, /at most 1200/);
    // The same bounds hold for a kubeconfig token asked for through POST /v1/tokens.
    const adminToken = drover.tokenOf('admin');
    const viaTokens = await call(drover.server, 'POST', '/v1/tokens', { token: adminToken, body: { kind: 'kubeconfig', clusterId: cluster.id, ttlSeconds: 90 * 86400 } });
    assert.equal(viaTokens.status, 422, viaTokens.text);
    assert.match(viaTokens.text, /at most 1200/);
    const byDefault = await call(drover.server, 'POST', '/v1/tokens', { token: adminToken, body: { kind: 'kubeconfig', clusterId: cluster.id } });
    assert.equal(byDefault.status, 201, byDefault.text);
    const defaultLifetime = await lifetimeOf((byDefault.json() as { token: string }).token);
    assert.ok(defaultLifetime > 840 && defaultLifetime <= 900, `the kubeconfig default, not the API token default: ${defaultLifetime}`);
  });

  it('refuses a default above the maximum with an error that says what to change, and keeps the old value', async () => {
    const refused = await drover.run('settings', 'set', 'kubeconfig', '--token-ttl', '3600');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--token-ttl: expected at most --max-token-ttl \(1200\)/, 'the CLI names its flags, not the API fields');
    const tooShort = await drover.run('settings', 'set', 'kubeconfig', '--max-token-ttl', '5');
    assert.notEqual(tooShort.code, 0);
    const view = JSON.parse(await drover.cli('settings', 'get', 'kubeconfig', '-o', 'json')) as SettingsView;
    assert.deepEqual([view.defaultTtlSeconds, view.maxTtlSeconds], [900, 1200]);
  });

  it('with generation off, hands out the drover token exec plugin, and kubectl works with it', async () => {
    await drover.cli('settings', 'set', 'kubeconfig', '--generate-token', 'false');
    const { path, config } = await kubeconfigFile();
    const user = config.users[0]?.user;
    assert.equal(user?.token, undefined, 'no token in the file');
    // The plugin stanza names the login it is for: this server and the user who downloaded it.
    assert.deepEqual([user?.exec?.command, user?.exec?.args], ['drover', ['token', '--cluster', cluster.id, '--server', drover.server.url, '--user', 'admin']]);
    const env = { PATH: `${binDir}:${process.env.PATH ?? ''}`, DROVER_CONFIG: drover.configPath };
    const whoami = JSON.parse(await kubectlOk(['auth', 'whoami', '-o', 'json'], { kubeconfig: path, env, timeoutMs: 60_000 })) as { status: { userInfo: { extra?: Record<string, string[]> } } };
    assert.deepEqual(whoami.status.userInfo.extra?.username, ['admin']);
    assert.match(await kubectlOk(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig: path, env, timeoutMs: 60_000 }), /namespace\/default/);
    // The plugin's token has the lifetime in force too.
    const credential = JSON.parse(await drover.cli('token', '--cluster', cluster.name)) as { status: { token: string } };
    const lifetime = await lifetimeOf(credential.status.token);
    assert.ok(lifetime > 800 && lifetime <= 900, `lifetime ${lifetime}`);
  });

  it('logs in again from kubectl in a terminal once the saved login no longer holds, and says what to do without one', async () => {
    const { path } = await kubeconfigFile();
    // A login of its own, in a folder of its own: no cluster token cached by the tests before.
    const config = join(mkdtempSync(join(tmpdir(), 'drover-relogin-')), 'config.json');
    const login = await runCliForTest(['login', drover.server.url, '--username', 'admin', '--password', adminPassword, '--ca-file', join(drover.dir, 'server', 'ca.crt')], { configPath: config });
    assert.equal(login.code, 0, login.stderr);
    const savedTokenId = (): string => (JSON.parse(readFileSync(config, 'utf8')) as { tokenId: string }).tokenId;
    const revokedId = savedTokenId();
    const revoked = await call(drover.server, 'DELETE', `/v1/tokens/${revokedId}`, { token: drover.tokenOf('admin') });
    assert.equal(revoked.status, 204, revoked.text);
    const env = { PATH: `${binDir}:${process.env.PATH ?? ''}`, DROVER_CONFIG: config };

    // Without a terminal (a script, CI) kubectl runs the plugin non-interactively: it fails and says what to do.
    const scripted = await kubectl(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig: path, env, timeoutMs: 60_000 });
    assert.notEqual(scripted.code, 0);
    assert.match(scripted.stderr, /your Drover login has expired: run "drover login https:\/\/[^"]+" and retry/);

    // In a terminal (a pseudo-terminal from script(1)), kubectl hands the plugin its stdin: it asks and goes on.
    const answer = await new Promise<{ code: number | null; output: string }>((resolvePromise) => {
      const child = spawn('script', ['-qec', `kubectl --kubeconfig ${path} get namespace default -o name`, '/dev/null'], { env: { ...process.env, ...env } });
      let output = '';
      for (const s of [child.stdout, child.stderr]) s.on('data', (c: Buffer) => { output += c.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      // Typed once the question is up, as a person would.
      child.stdout.on('data', () => { if (/Password for admin: /.test(output) && child.stdin.writable) child.stdin.end(`${adminPassword}\n`); });
      child.on('close', (code) => { clearTimeout(timer); resolvePromise({ code, output }); });
    });
    assert.equal(answer.code, 0, answer.output);
    assert.match(answer.output, /Your Drover login at https:\/\/\S+ has expired\. Password for admin: /);
    assert.match(answer.output, /namespace\/default/);
    assert.doesNotMatch(answer.output, new RegExp(adminPassword.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the password is not echoed');
    assert.notEqual(savedTokenId(), revokedId, 'the new login is saved');
    // The next kubectl call goes through on the saved login and cached token, asking nothing.
    assert.match(await kubectlOk(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig: path, env, timeoutMs: 60_000 }), /namespace\/default/);
  });

  it('never runs a kubeconfig made for alice as the admin DROVER_CONFIG points at, and says how to fix it', async () => {
    const alice = `alice-${randomBytes(3).toString('hex')}`;
    const password = 'alice-password-long-enough';
    await drover.cli('users', 'create', alice, '--password', password);
    await drover.cli('members', 'add', '--cluster', cluster.name, '--user', alice, '--role', 'cluster-member');
    const login = await drover.as(alice, ['login', drover.server.url, '--username', alice, '--password', password, '--ca-file', join(drover.dir, 'server', 'ca.crt')]);
    assert.equal(login.code, 0, login.stderr);
    const path = join(drover.dir, `${alice}.kubeconfig`);
    const made = await drover.as(alice, ['kubeconfig', cluster.name, '--file', path]);
    assert.equal(made.code, 0, made.stderr);

    // Run with the admin's login: refused before any token is minted, with the way out in the message.
    const asAdmin = await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: path, env: { PATH: `${binDir}:${process.env.PATH ?? ''}`, DROVER_CONFIG: drover.configPath }, timeoutMs: 60_000 });
    assert.notEqual(asAdmin.code, 0, `must not act as admin: ${asAdmin.stdout}`);
    assert.doesNotMatch(asAdmin.stdout, /"admin"/);
    assert.match(asAdmin.stderr, new RegExp(`this kubeconfig is for ${alice} at https://127\\.0\\.0\\.1:\\d+, but the Drover login in ${drover.configPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is admin at .*drover login https://127\\.0\\.0\\.1:\\d+ --username ${alice}`));
    // With alice's own login it works, as alice.
    const asAlice = JSON.parse(await kubectlOk(['auth', 'whoami', '-o', 'json'], { kubeconfig: path, env: { PATH: `${binDir}:${process.env.PATH ?? ''}`, DROVER_CONFIG: drover.configOf(alice) }, timeoutMs: 60_000 })) as { status: { userInfo: { extra?: Record<string, string[]> } } };
    assert.deepEqual(asAlice.status.userInfo.extra?.username, [alice]);
  });

  it('hands kubectl the cached token without asking the server, and replaces it after the server revoked it', async () => {
    const { path } = await kubeconfigFile();
    const config = join(mkdtempSync(join(tmpdir(), 'drover-revoke-')), 'config.json');
    const login = await runCliForTest(['login', drover.server.url, '--username', 'admin', '--password', adminPassword, '--ca-file', join(drover.dir, 'server', 'ca.crt')], { configPath: config });
    assert.equal(login.code, 0, login.stderr);
    const env = { PATH: `${binDir}:${process.env.PATH ?? ''}`, DROVER_CONFIG: config };
    const get = (): Promise<{ code: number | null; stdout: string; stderr: string }> => kubectl(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig: path, env, timeoutMs: 60_000 });
    const cachedToken = (): string => {
      const dir = join(config, '..', 'tokens');
      const [file] = readdirSync(dir);
      return (JSON.parse(readFileSync(join(dir, file ?? ''), 'utf8')) as { token: string }).token;
    };
    assert.equal((await get()).code, 0);
    const first = cachedToken();
    assert.equal((await get()).code, 0);
    assert.equal(cachedToken(), first, 'the next kubectl call reuses the cached token');

    const id = first.slice(0, first.indexOf(':'));
    const revoked = await call(drover.server, 'DELETE', `/v1/tokens/${id}`, { token: drover.tokenOf('admin') });
    assert.equal(revoked.status, 204, revoked.text);
    // kubectl gets the revoked token, its 401 makes client-go run the plugin again in the same
    // process, which checks it, finds it refused and mints a new one.
    await get();
    assert.notEqual(cachedToken(), first, 'the revoked token is replaced');
    const after = await get();
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /namespace\/default/);
  });

  it('lets a non-admin read the settings but not change them', async () => {
    await drover.cli('users', 'create', 'bob', '--password', 'bob-password-long-enough');
    const login = await call(drover.server, 'POST', '/v1/login', { body: { username: 'bob', password: 'bob-password-long-enough' } });
    const token = (login.json() as { token: string }).token;
    const read = await call(drover.server, 'GET', '/v1/settings/kubeconfig', { token });
    assert.equal(read.status, 200, read.text);
    assert.equal((read.json() as SettingsView).generateToken, false);
    const write = await call(drover.server, 'PUT', '/v1/settings/kubeconfig', { token, body: { defaultTtlSeconds: 600, maxTtlSeconds: 600, generateToken: true } });
    assert.equal(write.status, 403, write.text);
    const unchanged = JSON.parse(await drover.cli('settings', 'get', 'kubeconfig', '-o', 'json')) as SettingsView;
    assert.deepEqual([unchanged.defaultTtlSeconds, unchanged.generateToken], [900, false]);
  });

  it('refuses unknown fields, out-of-range numbers, and a change made with a cluster-scoped kubeconfig token', async () => {
    const login = await call(drover.server, 'POST', '/v1/login', { body: { username: 'admin', password: adminPassword } });
    const adminToken = (login.json() as { token: string }).token;
    await drover.cli('settings', 'set', 'kubeconfig', '--generate-token', 'true');
    const { config } = await kubeconfigFile();
    const scoped = config.users[0]?.user.token ?? '';
    const body = { defaultTtlSeconds: 600, maxTtlSeconds: 600, generateToken: true };
    const refused = await call(drover.server, 'PUT', '/v1/settings/kubeconfig', { token: scoped, body });
    assert.equal(refused.status, 403, refused.text);
    for (const bad of [{ ...body, extra: 1 }, { ...body, maxTtlSeconds: 10 }, { ...body, defaultTtlSeconds: 600.5 }, { defaultTtlSeconds: 600 }]) {
      const res = await call(drover.server, 'PUT', '/v1/settings/kubeconfig', { token: adminToken, body: bad });
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
    }
    const ok = await call(drover.server, 'PUT', '/v1/settings/kubeconfig', { token: adminToken, body });
    assert.equal(ok.status, 200, ok.text);
  });
});
