/**
 * cli/: the `drover` command. `main.ts` is the binary; `runCli(argv, deps)` runs one
 * command with explicit dependencies (env, streams, config path, HTTP client), so
 * every command is testable in-process (src/testing/cli.ts).
 */
export { runCli } from './run.ts';
export { realDeps, type CliDeps } from './deps.ts';
