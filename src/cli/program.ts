/**
 * The `drover` command tree. Each role (server, agent, kube-api-auth) and each
 * client verb lives in its own module under commands/ and is listed once in
 * `commands` below; the CLI contract in DESIGN.md lists them all.
 *
 * Modules load lazily: a run imports only the module of the command it names, so
 * `drover token` (which kubectl runs before every call) and `drover version` never
 * load the server (about 2,000 modules and the native ones). Help, a missing or an
 * unknown command load them all, so help lists everything and commander can
 * suggest the closest name.
 */
import { Command } from 'commander';
import type { CliDeps } from './deps.ts';
import { droverVersion } from '../version/index.ts';

type CommandLoader = (deps: CliDeps) => Promise<Command>;

/** Every top-level command: its name and how to load it (one line each). */
export const commands: Readonly<Record<string, CommandLoader>> = {
  version: async (deps) => (await import('./commands/version.ts')).versionCommand(deps),
  server: async (deps) => (await import('./commands/server.ts')).serverCommand(deps),
  login: async (deps) => (await import('./commands/login.ts')).loginCommand(deps),
  logout: async (deps) => (await import('./commands/logout.ts')).logoutCommand(deps),
  whoami: async (deps) => (await import('./commands/whoami.ts')).whoamiCommand(deps),
  users: async (deps) => (await import('./commands/users.ts')).usersCommand(deps),
  tokens: async (deps) => (await import('./commands/tokens.ts')).tokensCommand(deps),
  clusters: async (deps) => (await import('./commands/clusters.ts')).clustersCommand(deps),
  agent: async (deps) => (await import('./commands/agent.ts')).agentCommand(deps),
  kubeconfig: async (deps) => (await import('./commands/kubeconfig.ts')).kubeconfigCommand(deps),
  token: async (deps) => (await import('./commands/token.ts')).tokenCommand(deps),
  doctor: async (deps) => (await import('./commands/doctor.ts')).doctorCommand(deps),
  'kube-api-auth': async (deps) => (await import('./commands/kube-api-auth.ts')).kubeApiAuthCommand(deps),
  roles: async (deps) => (await import('./commands/roles.ts')).rolesCommand(deps),
  projects: async (deps) => (await import('./commands/projects.ts')).projectsCommand(deps),
  members: async (deps) => (await import('./commands/members.ts')).membersCommand(deps),
  providers: async (deps) => (await import('./commands/providers.ts')).providersCommand(deps),
  principals: async (deps) => (await import('./commands/providers.ts')).principalsCommand(deps),
  settings: async (deps) => (await import('./commands/settings.ts')).settingsCommand(deps),
  passwd: async (deps) => (await import('./commands/passwd.ts')).passwdCommand(deps),
  admin: async (deps) => (await import('./commands/admin.ts')).adminCommand(deps),
  audit: async (deps) => (await import('./commands/audit.ts')).auditCommand(deps),
  replicas: async (deps) => (await import('./commands/replicas.ts')).replicasCommand(deps),
};

/**
 * The command `argv` names: its first word that is not an option (the root takes
 * only --version and --help, neither with a value), or undefined.
 */
export function commandNamed(argv: readonly string[]): string | undefined {
  const word = argv.find((arg) => !arg.startsWith('-'));
  return word !== undefined && Object.hasOwn(commands, word) ? word : undefined;
}

/** The program with the command `argv` names, or with every command when it names none. */
export async function buildProgram(deps: CliDeps, argv: readonly string[]): Promise<Command> {
  const program = new Command('drover')
    .description('One front door to many Kubernetes clusters.')
    .version(droverVersion, '--version', 'print the Drover version')
    .showHelpAfterError('(run "drover --help" for usage)')
    .configureOutput({
      writeOut: (s) => deps.stdout.write(s),
      writeErr: (s) => deps.stderr.write(s),
    })
    .exitOverride();
  const named = commandNamed(argv);
  const loaders = named === undefined ? Object.values(commands) : [commands[named] as CommandLoader];
  for (const command of await Promise.all(loaders.map((load) => load(deps)))) {
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
