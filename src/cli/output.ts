/**
 * Printing command results, in the spirit of kubectl's PrintFlags: every command that prints data
 * declares the same flags (`withOutputFlags`) and states only its columns and the name of each item
 * (`ItemView`); `printItems` and `printText` do the rest, so `-o json|yaml|name|wide` and
 * `--no-headers` mean the same thing everywhere.
 */
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import type { CliDeps } from './deps.ts';
import { InvalidArgumentError } from '../errors/index.ts';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';
const FORMATS: readonly OutputFormat[] = ['table', 'wide', 'json', 'yaml', 'name'];

/** What commander parses from `withOutputFlags`; `--no-headers` sets `headers` to false. */
export interface OutputFlags { output?: OutputFormat; headers?: boolean }

/** One table column; `wide` columns show only with `-o wide`. */
export interface Column<T> { header: string; cell: (item: T) => string; wide?: boolean }

/** How a command's items print: their columns, and the name `-o name` prints for each. */
export interface ItemView<T> { columns: readonly Column<T>[]; name: (item: T) => string }

export function withOutputFlags(command: Command): Command {
  // Parsed with the other flags, so a typo fails before the command does anything.
  return command
    .addOption(new Option('-o, --output <format>', 'json, yaml, name, wide or table (default)').argParser(parseOutputFormat))
    .option('--no-headers', 'print tables without their header line');
}

function parseOutputFormat(value: string): OutputFormat {
  const format = FORMATS.find((f) => f === value);
  if (format) return format;
  throw new InvalidArgumentError('-o/--output', FORMATS.map((f) => `"${f}"`).join(', '), value);
}

function printJson(deps: CliDeps, data: unknown): void {
  deps.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
}

/** Rows under upper-case headers, columns padded to their widest cell; '' when there is no line. */
function formatTable(headers: string[], rows: string[][], withHeaders = true): string {
  const widths = headers.map((h, i) => Math.max(withHeaders ? h.length : 0, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd();
  const lines = [...(withHeaders ? [line(headers.map((h) => h.toUpperCase()))] : []), ...rows.map(line)];
  return lines.map((l) => `${l}\n`).join('');
}

export function printTable(deps: CliDeps, headers: string[], rows: string[][], withHeaders = true): void {
  deps.stdout.write(formatTable(headers, rows, withHeaders));
}

/** The table (or wide table) of `items`, for commands that print it among sentences. */
export function formatItems<T>(flags: OutputFlags, items: readonly T[], view: ItemView<T>): string {
  const columns = view.columns.filter((c) => flags.output === 'wide' || !c.wide);
  return formatTable(columns.map((c) => c.header), items.map((item) => columns.map((c) => c.cell(item))), flags.headers !== false);
}

/** The formats every command prints alike; returns false for the human ones (table, wide). */
function printForMachines(deps: CliDeps, format: OutputFormat, data: unknown, names: readonly string[]): boolean {
  if (format === 'json') printJson(deps, data);
  else if (format === 'yaml') deps.stdout.write(stringify(data));
  else if (format === 'name') deps.stdout.write(names.map((n) => `${n}\n`).join(''));
  else return false;
  return true;
}

/**
 * Prints `items` as a table (`after` then adds what only people read), or `data` (the API's answer,
 * which may hold more than the items) as JSON or YAML, or the items' names.
 */
export function printItems<T>(deps: CliDeps, flags: OutputFlags, data: unknown, items: readonly T[], view: ItemView<T>, after?: () => void): void {
  if (printForMachines(deps, flags.output ?? 'table', data, items.map(view.name))) return;
  deps.stdout.write(formatItems(flags, items, view));
  after?.();
}

/** For results people read as a sentence: `text` for table and wide, `data` or `names` otherwise. */
export function printText(deps: CliDeps, flags: OutputFlags, data: unknown, names: readonly string[], text: string): void {
  if (!printForMachines(deps, flags.output ?? 'table', data, names)) deps.stdout.write(text);
}
