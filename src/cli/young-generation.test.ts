import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The young generation's size (MiB) after allocating 20 million short-lived objects, with or without the module. */
function newSpaceMiB(kept: boolean): number {
  const module = pathToFileURL(join(import.meta.dirname, 'young-generation.ts')).href;
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    if (${kept}) await import(${JSON.stringify(module)});
    let live = [];
    for (let i = 0; i < 2e7; i++) { live.push({ i }); if (live.length > 100000) live = []; }
    console.log(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20);`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}

describe('young-generation.ts', () => {
  it('keeps the young generation at its starting size under a stream of short-lived objects, where Node would grow it', () => {
    const grown = newSpaceMiB(false);
    const kept = newSpaceMiB(true);
    // Without the setting this Node grows it (else the check below proves nothing).
    assert.ok(grown >= 16, `without the setting the young generation stayed at ${grown} MiB: this Node sizes it differently, measure again (src/tunnel/README.md)`);
    // Kept small, not exactly at its start: under load V8 may still take one step (5 MiB was seen in CI, against 16 and more without).
    assert.ok(kept <= 8 && kept * 2 <= grown, `the young generation grew to ${kept} MiB (${grown} without the setting): this Node ignores --semi-space-growth-factor set at run time; start the roles with --max-semi-space-size instead`);
  });
});
