/**
 * `drover server --workers N`: N processes on one host sharing one listener
 * (node:cluster hands each new connection to a worker in turn), each a full replica
 * with its own id, heartbeat, tunnels and controllers, so the ownership and relay
 * rules of src/replicas/ apply between them exactly as between hosts. Connections
 * land on any worker, so a peer could not reach a given worker through the shared
 * port: each worker also listens on a port of its own (`listenForPeers`) and
 * advertises that one; it serves the same TLS and routes.
 *
 * The primary only supervises: it checks the port, starts the first worker alone (a
 * first start creates the CA, keys, schema and admin once), then the others, and
 * starts a worker again when one dies. SQLite is refused for N > 1 (config.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server as NetServer } from 'node:net';
import type { Server } from 'node:https';
import type { Logger } from '../logging/index.ts';
import { formatHostPort, parseHostPort } from '../addresses/index.ts';
import { assertCanListen } from './port-check.ts';
import type { ServerConfig } from './config.ts';

const listeningMessage = 'drover-worker-listening';

/** Whether this process is a worker of `--workers` (it then skips the port check and listens for peers on a port of its own). */
export const isWorker = (): boolean => cluster.isWorker;

/** Tells the primary this worker is serving. */
export function reportListening(): void {
  process.send?.({ type: listeningMessage });
}

/** A worker's own listener for relayed requests: connections go to the shared HTTPS server (same TLS, same routes), but in this process. */
export async function listenForPeers(server: Pick<Server, 'emit'>, advertiseAddress: string): Promise<{ address: string; close: () => Promise<void> }> {
  const host = parseHostPort(advertiseAddress, { portZero: true })?.host ?? '127.0.0.1';
  const listener: NetServer = createServer((socket) => server.emit('connection', socket));
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    // exclusive: a port of this worker's own, not one shared through the primary.
    listener.listen({ host, port: 0, exclusive: true }, () => resolve());
  });
  const { port } = listener.address() as { port: number };
  return { address: formatHostPort(host, port), close: () => new Promise((resolve) => listener.close(() => resolve())) };
}

/** Runs the primary: starts `config.workers` workers and keeps them running until the returned stop is called. */
export async function superviseWorkers(config: ServerConfig, logger: Logger): Promise<() => Promise<void>> {
  await assertCanListen(config.listenHost, config.listenPort);
  let stopping = false;
  const fork = (): Promise<Worker> => new Promise((resolve, reject) => {
    const worker = cluster.fork();
    worker.on('message', (message: { type?: string }) => { if (message.type === listeningMessage) resolve(worker); });
    worker.once('exit', (code, signal) => reject(new Error(`a server worker exited (${code ?? signal}) before it was serving; its log above says why`)));
  });
  // The first alone: a first start creates the CA, keys, schema and bootstrap admin exactly once.
  await fork();
  await Promise.all(Array.from({ length: config.workers - 1 }, fork));
  logger.info({ workers: config.workers }, 'server workers running');
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code, signal }, 'a server worker died; starting another');
    fork().catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'could not start a server worker'));
  });
  return async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      w.process.kill('SIGTERM');
    })));
  };
}
