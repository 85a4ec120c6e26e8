/** Runs one `drover` invocation and returns its exit code, never throwing. */
import { CommanderError } from 'commander';
import type { CliDeps } from './deps.ts';
import { buildProgram } from './program.ts';

export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  try {
    const program = await buildProgram(deps, argv);
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed help or the usage error itself.
      return error.exitCode;
    }
    // One line, saying what failed; the CLI contract asks for exactly that.
    const message = error instanceof Error ? error.message : String(error);
    deps.stderr.write(`drover: ${message.split('\n')[0]}\n`);
    return 1;
  }
}
