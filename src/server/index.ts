/**
 * server/: `drover server`: one HTTPS listener (TLS from the data dir's own CA
 * or the operator's files), the store, identity, the REST API, and the seams
 * where the proxy, tunnel and other APIs plug in (`wire.ts`, the only
 * composition root).
 *
 * Trusts: its data dir (CA key, encryption key, SQLite file; created 0700/0600).
 * Refuses: plain HTTP, an http:// public URL, a half-migrated database. Fails
 * closed: a store that does not open stops the start; /readyz answers 503 while
 * the database does not answer. On SIGTERM/SIGINT /readyz answers 503 while it
 * still serves for --shutdown-delay, then it stops accepting, lets the requests
 * being answered finish (watches and followed logs excepted), then closes the
 * tunnels and the store.
 */
export { startServer, type RunningServer, type ServerCore, type Features, type StartOptions } from './wire.ts';
export { DEFAULT_LISTEN, serverConfigFromFlags, parseListen, type ServerConfig, type ServerFlags } from './config.ts';
export type { RawHandler, UpgradeHandler, PrefixRoute } from './http-server.ts';
export { isWorker, superviseWorkers } from './workers.ts';
