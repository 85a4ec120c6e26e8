/** Where the console's programs are: the first executable `kubectl` and `helm` on the server's PATH, as absolute paths. */
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Program } from './command-line.ts';

export function locatePrograms(pathEnv: string | undefined): Partial<Record<Program, string>> {
  const found: Partial<Record<Program, string>> = {};
  for (const program of ['kubectl', 'helm'] as const) {
    for (const dir of (pathEnv ?? '').split(delimiter)) {
      // A relative PATH entry would depend on the working directory: skipped.
      if (!isAbsolute(dir)) continue;
      const candidate = join(dir, program);
      try {
        accessSync(candidate, constants.X_OK);
        found[program] = realpathSync(candidate);
        break;
      } catch {
        // not here
      }
    }
  }
  return found;
}
