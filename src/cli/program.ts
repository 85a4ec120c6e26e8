/**
 * The `drover` command tree. Each role (server, agent, kube-api-auth) and each
 * client verb lives in its own module under commands/ and is added here; the CLI
 * contract in DESIGN.md lists them all.
 */
import { Command } from 'commander';
import type { CliDeps } from './deps.ts';
import { droverVersion } from '../shared/version.ts';
import { versionCommand } from './commands/version.ts';
import { serverCommand } from './commands/server.ts';
import { loginCommand } from './commands/login.ts';
import { logoutCommand } from './commands/logout.ts';
import { whoamiCommand } from './commands/whoami.ts';
import { usersCommand } from './commands/users.ts';
import { tokensCommand } from './commands/tokens.ts';
import { clustersCommand } from './commands/clusters.ts';
import { agentCommand } from './commands/agent.ts';
import { kubeconfigCommand } from './commands/kubeconfig.ts';
import { tokenCommand } from './commands/token.ts';
import { doctorCommand } from './commands/doctor.ts';
import { kubeApiAuthCommand } from './commands/kube-api-auth.ts';
import { rolesCommand } from './commands/roles.ts';
import { projectsCommand } from './commands/projects.ts';
import { membersCommand } from './commands/members.ts';
import { principalsCommand, providersCommand } from './commands/providers.ts';
import { settingsCommand } from './commands/settings.ts';
import { passwdCommand } from './commands/passwd.ts';
import { adminCommand } from './commands/admin.ts';

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
  for (const command of [
    versionCommand(deps), serverCommand(deps), loginCommand(deps), logoutCommand(deps), whoamiCommand(deps),
    usersCommand(deps), tokensCommand(deps), clustersCommand(deps), agentCommand(deps),
    kubeconfigCommand(deps), tokenCommand(deps), doctorCommand(deps), kubeApiAuthCommand(deps),
    rolesCommand(deps), projectsCommand(deps), membersCommand(deps), providersCommand(deps), principalsCommand(deps),
    settingsCommand(deps), passwdCommand(deps), adminCommand(deps),
  ]) {
    program.addCommand(withDepsOutput(command, deps));
  }
  return program;
}

/** Commander copies these settings only to subcommands made with .command(), so apply them down the whole tree. */
function withDepsOutput(command: Command, deps: CliDeps): Command {
  command.exitOverride().configureOutput({
    writeOut: (s) => deps.stdout.write(s),
    writeErr: (s) => deps.stderr.write(s),
  });
  for (const sub of command.commands) withDepsOutput(sub, deps);
  return command;
}
