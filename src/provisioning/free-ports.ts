/** Ports for several processes at once: a node's, chosen when its data dir is first used (and the test environment's). */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';

/**
 * A port free on `host` now for each name, all different. Every port stays bound until
 * all are chosen: closing each before asking for the next let the kernel hand out the
 * same port twice, and the server refuses a node whose processes share a port (a test
 * control plane's etcd and kube-apiserver would collide the same way).
 */
export async function freePorts<Name extends string>(host: string, names: readonly Name[]): Promise<Record<Name, number>> {
  const servers: Server[] = [];
  try {
    const ports = {} as Record<Name, number>;
    for (const name of names) {
      const server = createServer();
      servers.push(server);
      server.listen(0, host);
      await once(server, 'listening');
      ports[name] = (server.address() as AddressInfo).port;
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((closed) => (server.listening ? server.close(() => closed()) : closed()))));
  }
}
