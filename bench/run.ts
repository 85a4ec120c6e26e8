/**
 * `npm run bench [-- WORD...]`: runs every bench/*.bench.ts (or those whose name
 * contains a word), one after another so they do not compete for the 2 cores, and
 * writes each result to bench/results/<name>.json; bench/results/latest.md is then
 * rebuilt from every result file, so running one bench never drops the others.
 *
 * A bench file default-exports `async (ctx) => BenchResult`. Results are ratios
 * measured side by side in one run (proxy vs direct, tunnel vs TCP), never
 * absolute timings asserted in tests: these machines are shared and noisy.
 */
import { readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchContext, BenchResult } from './bench.ts';

const here = import.meta.dirname;
const words = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => words.length === 0 || words.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`bench: no bench/*.bench.ts matches ${words.join(' ')}\n`);
  process.exit(1);
}

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
const ctx: BenchContext = { progress: (line) => process.stderr.write(`bench: ${line}\n`) };
let failed = false;
await mkdir(join(here, 'results'), { recursive: true });

for (const file of files) {
  const name = basename(file, '.bench.ts');
  ctx.progress(`running ${name}`);
  try {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: (c: BenchContext) => Promise<BenchResult> };
    const result = await mod.default(ctx);
    await writeFile(join(here, 'results', `${name}.json`), `${JSON.stringify({ name, machine, at: new Date().toISOString(), ...result }, null, 2)}\n`);
    process.stdout.write(`${name}:\n${result.summary.trim()}\n\n`);
  } catch (error) {
    failed = true;
    process.stderr.write(`bench: ${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
}
await writeFile(join(here, 'results', 'latest.md'), await latestSummary(join(here, 'results')));
process.exit(failed ? 1 : 0);

/** Every bench's last result, each with when and where it was measured. */
async function latestSummary(dir: string): Promise<string> {
  const sections = ['# Benchmark results', '', 'The last result of each bench (`npm run bench [-- NAME]`); each says when and on what machine it ran.', ''];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const result = JSON.parse(await readFile(join(dir, file), 'utf8')) as { name?: string; machine?: string; at?: string; summary?: string };
    sections.push(`## ${result.name ?? basename(file, '.json')}`, '', `${result.at ?? 'unknown time'} on ${result.machine ?? 'unknown machine'}`, '', (result.summary ?? '').trim(), '');
  }
  return `${sections.join('\n')}\n`;
}
