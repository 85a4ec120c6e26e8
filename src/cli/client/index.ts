/**
 * cli/client/: how CLI commands talk to a Drover server: the saved login
 * (mode 0600) and an HTTPS client that trusts exactly the pinned CA.
 * Refuses: a CA whose checksum does not match; falls back to nothing silently.
 */
export { readConfig, requireLogin, trustOf, writeConfig, type CliConfig, type ServerTrust, writePrivateFile } from './config-file.ts';
export { DroverClient, fetchCaUnverified, fetchPinnedCa, sha256Hex, systemTrusts, type ClientOptions } from './http-client.ts';
export { loggedInClient, withClient, readStdinSecret } from './session.ts';
export { isTerminal, promptLine, promptSecret } from './prompt.ts';
