import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import type { CliDeps } from '../deps.ts';
import { promptLine, promptSecret } from './prompt.ts';

function depsWith(stdin: Readable): { deps: CliDeps; stderr: () => string } {
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c: Buffer) => { err += c.toString(); });
  return { deps: { env: {}, stdin, stdout: new PassThrough(), stderr, configPath: '/nonexistent', parentPid: 0 }, stderr: () => err };
}

/** A stream that says it is a terminal, recording the raw-mode switches a prompt makes. */
function terminal(typed: string[]): Readable & { isTTY: boolean; modes: boolean[]; setRawMode: (raw: boolean) => void } {
  const input = Object.assign(new PassThrough(), { isTTY: true, modes: [] as boolean[], setRawMode(raw: boolean) { input.modes.push(raw); } });
  // Keystrokes arrive one by one, as from a keyboard.
  setImmediate(() => { for (const key of typed) input.write(key); });
  return input;
}

describe('promptSecret', () => {
  it('asks on stderr and reads one line', async () => {
    const { deps, stderr } = depsWith(Readable.from(['s3cret\nand more\n']));
    assert.equal(await promptSecret(deps, 'Password: '), 's3cret');
    assert.equal(stderr(), 'Password: \n');
  });

  it('on a terminal turns echo off for the answer and back on, and honours backspace', async () => {
    const input = terminal(['p', 'a', 'x', '\u007f', 's', 's', '\r']);
    assert.equal(await promptSecret(depsWith(input).deps, 'Password: '), 'pass');
    assert.deepEqual(input.modes, [true, false]);
  });

  it('refuses ^C and an empty end of input, restoring the terminal', async () => {
    const input = terminal(['a', '\u0003']);
    await assert.rejects(promptSecret(depsWith(input).deps, 'Password: '), /cancelled/);
    assert.deepEqual(input.modes, [true, false]);
    await assert.rejects(promptSecret(depsWith(terminal(['\u0004'])).deps, 'Password: '), /nothing was typed/);
    await assert.rejects(promptSecret(depsWith(Readable.from([])).deps, 'Password: '), /nothing was typed/);
  });

  it('takes a last line that has no newline', async () => {
    assert.equal(await promptSecret(depsWith(Readable.from(['tail-only'])).deps, 'Password: '), 'tail-only');
  });
});

describe('promptLine and questions in a row', () => {
  it('asks a yes/no question with echo left on', async () => {
    const input = terminal(['y', '\r']);
    const { deps, stderr } = depsWith(input);
    assert.equal(await promptLine(deps, 'Trust? [y/N] '), 'y');
    assert.deepEqual(input.modes, [], 'echo stays on');
    assert.equal(stderr(), 'Trust? [y/N] ');
  });

  it('answers a second question on the same terminal after the first paused it', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => undefined });
    const { deps } = depsWith(input);
    const first = promptSecret(deps, 'Password: ');
    input.write('one\r');
    assert.equal(await first, 'one');
    const second = promptSecret(deps, 'Again: ');
    input.write('two\r');
    assert.equal(await second, 'two');
  });
});
