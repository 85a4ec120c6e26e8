/**
 * scripts/install-node.sh (setup.sh's Node step) in a throwaway prefix and link
 * folder, with the machine's PATH behind it: afterwards `node`, `npm` and `npx` found
 * on that PATH are Node 24 or newer and work, the folder it prints carries the C
 * headers native modules compile against, a second run changes nothing, and a link
 * folder that comes after another Node in PATH is refused with the fix.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const script = resolve(import.meta.dirname, '..', '..', 'scripts', 'install-node.sh');
const systemPath = '/usr/local/bin:/usr/bin:/bin';

function sh(command: string, env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('/bin/bash', ['-c', command], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

describe('scripts/install-node.sh', { timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-install-node-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  const env = { DROVER_NODE_PREFIX: join(dir, 'node'), DROVER_BIN_DIR: bin, PATH: `${bin}:${systemPath}` };

  it('leaves Node 24 or newer first in PATH, with npm, npx and headers, and is safe to run again', () => {
    const first = sh(script, env);
    assert.equal(first.code, 0, first.stderr);
    const versions = sh('node -p process.versions.node && npm --version && npx --version', env);
    assert.equal(versions.code, 0, versions.stderr);
    const [node] = versions.stdout.split('\n');
    assert.ok(Number(node?.split('.')[0]) >= 24, `node ${node ?? '?'}`);
    if (first.stdout !== '') assert.ok(existsSync(join(first.stdout, 'include', 'node', 'node.h')), `headers in ${first.stdout}`);
    const again = sh(script, env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, first.stdout);
    assert.doesNotMatch(again.stderr, /installing/, 'nothing is downloaded twice');
  });

  it('refuses a link folder that another, older Node comes before in PATH, and says what to change', (t) => {
    const older = sh('command -v node', { PATH: systemPath });
    const version = sh('node -p process.versions.node', { PATH: systemPath });
    if (older.stdout === '' || Number(version.stdout.split('.')[0]) >= 24) {
      t.skip('this machine has no Node older than 24 on its PATH');
      return;
    }
    const late = join(dir, 'late-bin');
    const refused = sh(script, { ...env, DROVER_BIN_DIR: late, PATH: `${systemPath}:${late}` });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`PATH finds ${older.stdout} first: put ${late} before`));
  });
});
