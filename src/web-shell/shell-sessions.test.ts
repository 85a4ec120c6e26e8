import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logging/index.ts';
import { ShellSessions } from './shell-sessions.ts';

/**
 * A stand-in `kubectl` (a script with an absolute interpreter path) that prints its
 * argv one per line and the environment it got: what a session hands the real binary.
 */
describe('ShellSessions (what the binary gets, and what is left when a session ends)', () => {
  let dir: string;
  let binary: string;
  const issued: string[] = [];
  const revoked: string[] = [];
  const tokens = {
    issue: (input: { clusterId: string; ttlSeconds: number }) => {
      const id = `token-${issued.length}`;
      issued.push(`${id} ${input.clusterId} ${input.ttlSeconds}`);
      return Promise.resolve({ token: { id }, value: `${id}:secret` });
    },
    revoke: (id: string) => { revoked.push(id); return Promise.resolve(); },
  };
  const sessions = (limits = { sessionMs: 60_000, commandMs: 5_000, outputBytes: 4096, sessionsPerUser: 2 }) => new ShellSessions({
    tokens, binaries: { kubectl: binary }, logger: silentLogger(), limits,
    kubeconfig: (clusterId, name, token) => `server: https://drover.test/k8s/clusters/${clusterId}\nname: ${name}\ntoken: ${token}\n`,
  });
  const user = { id: 'u-1', provider: 'local' };
  const cluster = { id: 'c-1', name: 'one' };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'drover-shell-test-'));
    binary = join(dir, 'kubectl');
    writeFileSync(binary, [
      `#!${process.execPath}`,
      'const args = process.argv.slice(2);',
      'if (args[1] === "sleep") setTimeout(() => {}, 60000);',
      'else if (args[1] === "flood") process.stdout.write("x".repeat(100000));',
      'else console.log(JSON.stringify({ args, env: process.env, cwd: process.cwd(), config: require("fs").readFileSync(process.env.KUBECONFIG, "utf8") }));',
    ].join('\n'));
    chmodSync(binary, 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the binary with the argv as typed (no shell), in an empty HOME with only its kubeconfig, and an empty PATH', async () => {
    const shells = sessions();
    const opened = await shells.open(user, cluster);
    const result = await shells.run(opened.id, user, cluster.id, `kubectl get pods -n team -o 'jsonpath={.items[*]}' 'a;b'`);
    assert.equal(result.exitCode, 0, result.output);
    const seen = JSON.parse(result.output) as { args: string[]; env: Record<string, string>; cwd: string; config: string };
    assert.deepEqual(seen.args, ['get', 'pods', '-n', 'team', '-o', 'jsonpath={.items[*]}', 'a;b']);
    assert.equal(seen.env.PATH, '');
    assert.equal(seen.env.HOME, seen.cwd);
    assert.equal(seen.env.KUBECONFIG, join(seen.cwd, 'config'));
    assert.equal(Object.keys(seen.env).some((k) => /DROVER|TOKEN|SECRET|PASSWORD/i.test(k)), false, 'the server\'s environment stays out');
    assert.match(seen.config, /token: token-\d+:secret/);
    await shells.close(opened.id);
    assert.equal(existsSync(seen.cwd), false, 'the session directory is removed');
    assert.deepEqual(revoked, [issued.at(-1)?.split(' ')[0]], 'the token is revoked');
  });

  it('bounds sessions per user, time and output; another user cannot reach a session', async () => {
    const shells = sessions({ sessionMs: 60_000, commandMs: 1_000, outputBytes: 4096, sessionsPerUser: 1 });
    const opened = await shells.open(user, cluster);
    await assert.rejects(shells.open(user, cluster), /most allowed/);
    await assert.rejects(shells.run(opened.id, { id: 'u-2' }, cluster.id, 'kubectl get pods'), /no such kubectl console/);
    await assert.rejects(shells.run(opened.id, user, 'c-other', 'kubectl get pods'), /no such kubectl console/);
    const slow = await shells.run(opened.id, user, cluster.id, 'kubectl get sleep');
    assert.equal(slow.timedOut, true);
    const flood = await shells.run(opened.id, user, cluster.id, 'kubectl get flood');
    assert.equal(flood.truncated, true);
    assert.ok(flood.output.length <= 4096);
    await shells.closeAll();
    await assert.rejects(shells.run(opened.id, user, cluster.id, 'kubectl get pods'), /no such kubectl console/);
  });

  it('ends a session at its deadline, revoking its token', async () => {
    const shells = sessions({ sessionMs: 200, commandMs: 1_000, outputBytes: 4096, sessionsPerUser: 2 });
    const before = revoked.length;
    const opened = await shells.open(user, cluster);
    const deadline = Date.now() + 20_000;
    while (revoked.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(revoked.length, before + 1);
    await assert.rejects(shells.run(opened.id, user, cluster.id, 'kubectl get pods'), /no such kubectl console/);
  });
});
