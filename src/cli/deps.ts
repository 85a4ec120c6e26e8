/**
 * What every CLI command receives instead of reaching for globals, so each command
 * runs in-process in tests with its own environment, streams and config file.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export interface CliDeps {
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Where `drover login` saves the server and token ($DROVER_CONFIG). */
  configPath: string;
  /** The process that started this one: kubectl, for the exec plugin (`drover token`). */
  parentPid: number;
}

export function realDeps(): CliDeps {
  return {
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    configPath: process.env.DROVER_CONFIG ?? join(homedir(), '.config', 'drover', 'config.json'),
    parentPid: process.ppid,
  };
}
