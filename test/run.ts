/**
 * `npm test` after typecheck and lint: every unit test (src/**\/*.test.ts) and
 * end-to-end test (test/e2e/**\/*.test.ts) under node's test runner, with one
 * shared real control plane started first and stopped at the end.
 *
 *   npm test -- identity proxy     only files whose path contains one of the words
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { killControlPlaneSync, startControlPlane, stopControlPlane } from './testenv/control-plane.ts';

const root = join(import.meta.dirname, '..');
const filters = process.argv.slice(2);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

const files = [...testFiles(join(root, 'src')), ...testFiles(join(root, 'test', 'e2e'))]
  .filter((f) => filters.length === 0 || filters.some((word) => f.includes(word)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`test/run.ts: no test file matches ${filters.join(' ')}\n`);
  process.exit(1);
}

const needsCluster = files.some((f) => f.startsWith(join('test', 'e2e')));
const dir = mkdtempSync(join(tmpdir(), 'drover-test-'));
const progress = (line: string): void => { process.stderr.write(`${line}\n`); };
let clusterPids: Parameters<typeof killControlPlaneSync>[0] | undefined;
process.on('exit', () => {
  if (clusterPids) killControlPlaneSync(clusterPids);
  rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

if (needsCluster) {
  const state = await startControlPlane({ dir: join(dir, 'shared'), progress });
  clusterPids = state;
}

const child = spawn(process.execPath, [
  '--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files,
], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...(needsCluster ? { DROVER_TESTENV_DIR: join(dir, 'shared') } : {}) },
});
const code = await new Promise<number>((r) => child.on('exit', (c, signal) => r(c ?? (signal ? 1 : 0))));
if (needsCluster) await stopControlPlane(join(dir, 'shared'));
clusterPids = undefined;
process.exit(code);
