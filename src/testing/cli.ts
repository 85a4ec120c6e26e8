/** Runs the drover CLI in-process with captured streams, as tests use it. */
import { PassThrough, Readable } from 'node:stream';
import { runCli, type CliDeps } from '../cli/index.ts';

export interface CliResult { code: number; stdout: string; stderr: string }

export async function runCliForTest(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string; configPath?: string; parentPid?: number } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => { out += c.toString(); });
  stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const deps: CliDeps = {
    env: options.env ?? {},
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    stdout,
    stderr,
    configPath: options.configPath ?? '/nonexistent/drover-config.json',
    // One asker for every run unless a test says otherwise: each run counts as asking again.
    parentPid: options.parentPid ?? process.pid,
  };
  const code = await runCli(argv, deps);
  return { code, stdout: out, stderr: err };
}
