import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { parse } from 'yaml';
import type { CliDeps } from './deps.ts';
import { printItems, printText, withOutputFlags, type ItemView, type OutputFlags } from './output.ts';

interface Item { name: string; state: string; detail: string }
const items: Item[] = [{ name: 'alpha', state: 'ok', detail: 'x' }, { name: 'b', state: 'degraded', detail: 'why' }];
const view: ItemView<Item> = {
  columns: [{ header: 'name', cell: (i) => i.name }, { header: 'state', cell: (i) => i.state }, { header: 'detail', cell: (i) => i.detail, wide: true }],
  name: (i) => `item/${i.name}`,
};

/** Runs a one-command program with the output flags, printing `items` or a sentence. */
async function run(args: string[], print: (deps: CliDeps, flags: OutputFlags) => void = (deps, flags) => printItems(deps, flags, { items }, items, view)): Promise<string> {
  let out = '';
  const stdout = new Writable({ write(chunk: Buffer, _enc, done) { out += chunk.toString(); done(); } });
  const deps = { stdout } as unknown as CliDeps;
  const command = withOutputFlags(new Command('show')).exitOverride().action((flags: OutputFlags) => print(deps, flags));
  await command.parseAsync(args, { from: 'user' });
  return out;
}

describe('CLI output flags', () => {
  it('prints a table by default, without the wide-only columns', async () => {
    assert.equal(await run([]), 'NAME    STATE\nalpha   ok\nb       degraded\n');
  });

  it('adds the wide-only columns with -o wide, and drops the header line with --no-headers', async () => {
    assert.equal(await run(['-o', 'wide']), 'NAME    STATE      DETAIL\nalpha   ok         x\nb       degraded   why\n');
    assert.equal(await run(['--no-headers']), 'alpha   ok\nb       degraded\n');
  });

  it('prints the whole answer as JSON or YAML, and one name a line with -o name', async () => {
    assert.deepEqual(JSON.parse(await run(['-o', 'json'])), { items });
    assert.equal(await run(['-o', 'json']), `${JSON.stringify({ items }, null, 2)}\n`);
    assert.deepEqual(parse(await run(['--output', 'yaml'])), { items });
    assert.equal(await run(['-o', 'name']), 'item/alpha\nitem/b\n');
  });

  it('prints a sentence for people and the data for scripts', async () => {
    const sentence = (deps: CliDeps, flags: OutputFlags): void => printText(deps, flags, { done: true }, ['thing/one'], 'Done.\n');
    assert.equal(await run([], sentence), 'Done.\n');
    assert.equal(await run(['-o', 'yaml'], sentence), 'done: true\n');
    assert.equal(await run(['-o', 'name'], sentence), 'thing/one\n');
  });

  it('refuses an unknown format before the command runs, naming the accepted ones', async () => {
    let ran = false;
    await assert.rejects(run(['-o', 'xml'], () => { ran = true; }),
      { message: '-o/--output: expected "table", "wide", "json", "yaml", "name", got "xml"' });
    assert.equal(ran, false);
  });
});
