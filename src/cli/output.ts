/** Printing command results: `-o json` for scripts, aligned tables for people. */
import type { CliDeps } from './deps.ts';
import { InvalidArgumentError } from '../errors/index.ts';

export type OutputFormat = 'table' | 'json';

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'table') return 'table';
  if (value === 'json') return 'json';
  throw new InvalidArgumentError('-o/--output', '"json" or "table"', value);
}

export function printJson(deps: CliDeps, data: unknown): void {
  deps.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
}

/** Prints rows under upper-case headers, columns padded to their widest cell. */
export function printTable(deps: CliDeps, headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd();
  deps.stdout.write(`${[line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n')}\n`);
}
