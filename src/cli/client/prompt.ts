/**
 * Asking the person at the terminal for a secret. The question goes to stderr: when
 * kubectl runs `drover token`, stdout is the ExecCredential kubectl reads, while
 * stderr and stdin are the user's terminal. On a terminal nothing typed for a secret
 * is echoed.
 */
import type { Readable } from 'node:stream';
import type { CliDeps } from '../deps.ts';
import { DroverError } from '../../errors/index.ts';

type Input = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

const interrupt = '\u0003';
const endOfInput = '\u0004';
const erase = new Set(['\u007f', '\b']);

/** Whether a person is at stdin to answer questions. */
export function isTerminal(deps: CliDeps): boolean {
  return (deps.stdin as Input).isTTY === true;
}

/** One line from stdin (without echo on a terminal); refuses ^C, and ^D or end of input before anything was typed. */
export function promptSecret(deps: CliDeps, question: string): Promise<string> {
  return ask(deps, question, true);
}

/** One line from stdin, echoed as typed (a yes/no question). */
export function promptLine(deps: CliDeps, question: string): Promise<string> {
  return ask(deps, question, false);
}

async function ask(deps: CliDeps, question: string, secret: boolean): Promise<string> {
  const input = deps.stdin as Input;
  const raw = secret && input.isTTY === true && typeof input.setRawMode === 'function';
  // Echo off before the question shows, so nothing typed at once is echoed either.
  if (raw) input.setRawMode?.(true);
  deps.stderr.write(question);
  try {
    return await readLine(input);
  } finally {
    if (raw) input.setRawMode?.(false);
    // The Enter key was not echoed either: end the question's line.
    if (secret) deps.stderr.write('\n');
  }
}

function readLine(input: Input): Promise<string> {
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = (error?: Error): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', finish);
      // Let the process exit: a terminal stdin left flowing keeps it alive.
      input.pause();
      if (error) reject(error);
      else resolve(line);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const char of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === interrupt) return finish(new DroverError('DRV_ERR_UNAUTHENTICATED', 'cancelled'));
        if (char === endOfInput && line === '') return finish(nothingTyped());
        if (erase.has(char)) line = line.slice(0, -1);
        else line += char;
      }
    };
    const onEnd = (): void => finish(line === '' ? nothingTyped() : undefined);
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', finish);
    // A previous question paused the stream; a new 'data' listener does not undo an explicit pause.
    input.resume();
  });
}

function nothingTyped(): DroverError {
  return new DroverError('DRV_ERR_UNAUTHENTICATED', 'nothing was typed: run the command again and answer the question');
}
