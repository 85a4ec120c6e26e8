import { freePorts } from '../../src/provisioning/free-ports.ts';

export { freePorts };

/**
 * A loopback port that was free a moment ago. Another process can take it before
 * we bind it, so callers that start servers on it must retry on EADDRINUSE. Callers
 * that need several at once use `freePorts`, which never hands out one twice.
 */
export async function freePort(): Promise<number> {
  return (await freePorts('127.0.0.1', ['port'])).port;
}
