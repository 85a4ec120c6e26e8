/**
 * The browser's kubectl console: see README.md. Wired in src/server/wire.ts with the
 * identity's token service and the proxy's kubeconfig renderer.
 */
export { parseCommandLine, splitWords, type ParsedCommand, type Program } from './command-line.ts';
export { ShellSessions, defaultShellLimits, type CommandResult, type ShellLimits, type ShellSessionsOptions, type ShellTokens } from './shell-sessions.ts';
export { locatePrograms } from './programs.ts';
export { webShellApi, type WebShellApiOptions } from './web-shell-api.ts';
