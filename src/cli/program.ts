/**
 * The `drover` command tree. Each role (server, agent, kube-api-auth) and each
 * client verb lives in its own module under commands/ and is added here; the CLI
 * contract in DESIGN.md lists them all.
 */
import { Command } from 'commander';
import type { CliDeps } from './deps.ts';
import { droverVersion } from '../shared/version.ts';
import { versionCommand } from './commands/version.ts';

export function buildProgram(deps: CliDeps): Command {
  const program = new Command('drover')
    .description('One front door to many Kubernetes clusters.')
    .version(droverVersion, '--version', 'print the Drover version')
    .showHelpAfterError('(run "drover --help" for usage)')
    .configureOutput({
      writeOut: (s) => deps.stdout.write(s),
      writeErr: (s) => deps.stderr.write(s),
    })
    .exitOverride();
  for (const command of [versionCommand(deps)]) {
    program.addCommand(command.exitOverride().configureOutput({
      writeOut: (s) => deps.stdout.write(s),
      writeErr: (s) => deps.stderr.write(s),
    }));
  }
  return program;
}
