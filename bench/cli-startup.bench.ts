/**
 * What the CLI costs where it is run most: kubectl runs `drover token` before every
 * command. Measured side by side, interleaved, on the built CLI (compiled into a
 * temporary folder, as `npm install -g` would run it):
 * - start-up: `node -e 0`, `drover version` and a cached `drover token` (the ratio
 *   to `node -e 0` is the figure; the goal is at most 3×);
 * - kubectl through Drover to a real cluster: a kubeconfig with a static token
 *   against one with the `drover token` exec plugin (cached token); the goal is at
 *   most 150 ms more per kubectl call.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile, type BenchContext, type BenchResult } from './bench.ts';
import { cachePath } from '../src/cli/commands/token-cache.ts';
import { eventually, kubectl, startPrivateControlPlane } from '../test/testenv/index.ts';
import { startDrover } from '../test/testenv/drover.ts';

const root = join(import.meta.dirname, '..');

interface Summary { medianMs: number; p90Ms: number }
const summarise = (samples: number[]): Summary => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: Number(percentile(sorted, 50).toFixed(1)), p90Ms: Number(percentile(sorted, 90).toFixed(1)) };
};

/** The CLI compiled into `dir` (dist/ beside package.json and node_modules), as an installed package is laid out. */
function buildCli(dir: string): string {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], { stdio: 'inherit' });
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'dist', 'cli', 'main.js');
}

function startup(ctx: BenchContext, main: string, dir: string, rounds: number): Record<string, Summary> {
  const configPath = join(dir, 'config.json');
  const login = { server: 'https://127.0.0.1:9', token: 'token-bench:secret', username: 'bench' };
  writeFileSync(configPath, JSON.stringify(login));
  const cache = cachePath(configPath, login, 'c-bench');
  mkdirSync(join(cache, '..'), { recursive: true });
  const cached = JSON.stringify({ token: 'token-cached:secret', expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
  const env = { ...process.env, DROVER_CONFIG: configPath };
  const variants: Record<string, { argv: string[]; before?: () => void }> = {
    'node -e 0': { argv: ['-e', '0'] },
    'drover version': { argv: [main, 'version'] },
    // Each kubectl is a new asker: the cache entry is rewritten as no process has had it yet.
    'drover token (cached)': { argv: [main, 'token', '--cluster', 'c-bench'], before: () => writeFileSync(cache, cached) },
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, variant] of Object.entries(variants)) {
      variant.before?.();
      const start = performance.now();
      const result = spawnSync(process.execPath, variant.argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const ms = performance.now() - start;
      if (result.status !== 0) throw new Error(`${name} failed: ${result.stderr.toString()}`);
      if (round > 0) samples[name]?.push(ms); // the first round warms the file cache
    }
  }
  ctx.progress(`start-up: ${rounds} interleaved rounds done`);
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarise(v)]));
}

async function kubectlOverhead(ctx: BenchContext, main: string, dir: string, rounds: number): Promise<Record<string, Summary>> {
  const cp = await startPrivateControlPlane();
  const drover = await startDrover();
  try {
    const cluster = await drover.registerCluster('bench-cli', cp.state);
    const staticPath = join(dir, 'static.kubeconfig');
    await drover.cli('kubeconfig', cluster.name, '--file', staticPath);
    await drover.cli('settings', 'set', 'kubeconfig', '--generate-token', 'false');
    const execPath = join(dir, 'exec.kubeconfig');
    await drover.cli('kubeconfig', cluster.name, '--file', execPath);
    // `drover` on PATH is the built CLI, as `npm install -g` puts it there.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'drover'), `#!/bin/sh\nexec "${process.execPath}" "${main}" "$@"\n`);
    chmodSync(join(bin, 'drover'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH ?? ''}`, DROVER_CONFIG: drover.configPath };
    // The admin's access downstream is reconciled a moment after the cluster goes Active.
    await eventually('the admin to get namespaces through Drover', async () => {
      const ready = await kubectl(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig: staticPath, env, timeoutMs: 60_000 });
      return ready.code === 0 ? true : undefined;
    }, 120_000);
    const variants = { 'kubectl, static token': staticPath, 'kubectl, drover token plugin': execPath };
    const samples: Record<string, number[]> = { 'kubectl, static token': [], 'kubectl, drover token plugin': [] };
    for (let round = 0; round < rounds; round++) {
      for (const [name, kubeconfig] of Object.entries(variants)) {
        const start = performance.now();
        const result = await kubectl(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig, env, timeoutMs: 60_000 });
        const ms = performance.now() - start;
        if (result.code !== 0) throw new Error(`${name} failed: ${result.stderr}`);
        if (round > 0) samples[name]?.push(ms); // the first round mints the plugin's token and fills kubectl's caches
      }
    }
    ctx.progress(`kubectl: ${rounds} interleaved rounds done`);
    return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarise(v)]));
  } finally {
    await drover.stop();
    await cp.stop();
  }
}

export default async function cliStartupBench(ctx: BenchContext): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-bench-cli-'));
  try {
    ctx.progress('compiling the CLI');
    const main = buildCli(dir);
    const start = startup(ctx, main, dir, 31);
    const kube = await kubectlOverhead(ctx, main, dir, 21);
    const node = start['node -e 0']?.medianMs ?? Number.NaN;
    const ratio = (name: string): number => Number(((start[name]?.medianMs ?? Number.NaN) / node).toFixed(2));
    const pluginCostMs = Number(((kube['kubectl, drover token plugin']?.medianMs ?? Number.NaN) - (kube['kubectl, static token']?.medianMs ?? Number.NaN)).toFixed(1));
    const rows = [...Object.entries(start), ...Object.entries(kube)].map(([name, s]) => `| ${name} | ${s.medianMs} | ${s.p90Ms} |`);
    const summary = [
      '| run | median ms | p90 ms |', '| --- | ---: | ---: |', ...rows, '',
      `Start-up over \`node -e 0\`: \`drover version\` ${ratio('drover version')}×, cached \`drover token\` ${ratio('drover token (cached)')}× (goal ≤ 3×).`,
      `The exec plugin adds ${pluginCostMs} ms to a kubectl call (median; goal ≤ 150 ms).`,
    ].join('\n');
    return { summary, figures: { startup: start, kubectl: kube, versionOverNode: ratio('drover version'), tokenOverNode: ratio('drover token (cached)'), pluginCostMs } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
