import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCliForTest } from '../testing/index.ts';
import { droverVersion } from '../version/index.ts';

describe('drover CLI', () => {
  it('prints help listing its commands', async () => {
    const result = await runCliForTest(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /Usage: drover/);
    assert.match(result.stdout, /version/);
  });

  it('prints the version as text and as JSON', async () => {
    const text = await runCliForTest(['version']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`^drover ${droverVersion.replaceAll('.', '\\.')} `));
    const json = await runCliForTest(['version', '-o', 'json']);
    assert.equal((JSON.parse(json.stdout) as { version: string }).version, droverVersion);
  });

  it('exits non-zero with a one-line reason on a bad output format', async () => {
    const result = await runCliForTest(['version', '-o', 'xml']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'drover: -o/--output: expected "table", "wide", "json", "yaml", "name", got "xml"\n');
  });

  it('refuses an unknown command', async () => {
    const result = await runCliForTest(['frobnicate']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /unknown command 'frobnicate'/);
  });

  it('loads only the module of the command it runs: client verbs load neither the server nor a native module', () => {
    // Records every module URL the process loads, printed on exit.
    const recorder = `data:text/javascript,${encodeURIComponent(
      "import { registerHooks } from 'node:module'; const seen = []; registerHooks({ load(url, c, next) { seen.push(url); return next(url, c); } });" +
      "process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(seen) + '\\n'));")}`;
    const root = join(import.meta.dirname, '..', '..');
    for (const argv of [['version'], ['token', '--cluster', 'c-1']]) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', recorder, 'src/cli/main.ts', ...argv], {
        cwd: root, encoding: 'utf8', env: { ...process.env, DROVER_CONFIG: '/nonexistent/config.json' },
      });
      const line = run.stderr.split('\n').find((l) => l.startsWith('LOADED '));
      assert.ok(line, run.stderr);
      const loaded = JSON.parse(line.slice('LOADED '.length)) as string[];
      assert.ok(loaded.some((url) => url.includes(`/src/cli/commands/${argv[0] ?? ''}.ts`)), `drover ${argv.join(' ')} loads its own command`);
      const heavy = loaded.filter((url) => /\/src\/(server|store|identity|proxy|tunnel)\/|better-sqlite3|@node-rs\/argon2|bufferutil|fastify|undici/.test(url));
      assert.deepEqual(heavy, [], `drover ${argv.join(' ')} loads no server module, native module or HTTP client`);
    }
  });
});
