import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCliForTest } from '../testing/cli.ts';
import { droverVersion } from '../shared/version.ts';

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
    const result = await runCliForTest(['version', '-o', 'yaml']);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'drover: -o/--output: expected "json" or "table", got "yaml"\n');
  });

  it('refuses an unknown command', async () => {
    const result = await runCliForTest(['frobnicate']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /unknown command 'frobnicate'/);
  });
});
