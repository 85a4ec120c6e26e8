import { createServer } from 'node:net';

/**
 * A loopback port that was free a moment ago. Another process can take it before
 * we bind it, so callers that start servers on it must retry on EADDRINUSE.
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePromise(address.port);
        else reject(new Error('could not read the port of a loopback listener'));
      });
    });
  });
}
