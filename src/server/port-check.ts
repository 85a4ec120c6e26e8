/**
 * Is the listen address free? Checked before the data dir, database or admin user is
 * created, so a second server started by mistake leaves nothing behind. It is a probe
 * (bind, then release): another process could take the port in between, and then the
 * real listen fails later with the same explanation.
 */
import { createServer } from 'node:net';
import { DroverError } from '../errors/index.ts';

/** A listen failure as something an operator can act on. */
export function listenError(host: string, port: number, error: unknown): DroverError {
  const code = (error as { code?: string }).code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why = code === 'EADDRINUSE' ? 'the address is already in use (is another drover server running?); stop it or choose another --listen'
    : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges); choose a port above 1024 with --listen'
    : code === 'EADDRNOTAVAIL' ? 'this machine has no such address; use 127.0.0.1, 0.0.0.0 or one of its own addresses'
    : (error instanceof Error ? error.message : String(error));
  return new DroverError('DRV_ERR_CONFLICT', `cannot listen on ${where}: ${why}`, { cause: error });
}

export async function assertCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => reject(listenError(host, port, error)));
    probe.listen({ host, port, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}
