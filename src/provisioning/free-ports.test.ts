import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { freePorts } from './free-ports.ts';

describe('freePorts', () => {
  it('gives every process its own port, and each is free again once chosen', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `p${i}`);
    const ports = Object.values(await freePorts('127.0.0.1', names));
    assert.equal(ports.length, 40);
    assert.equal(new Set(ports).size, 40, `a port handed out twice: ${ports.join(', ')}`);
    for (const port of ports) {
      const server = createServer().listen(port, '127.0.0.1');
      await once(server, 'listening');
      await new Promise((closed) => server.close(closed));
    }
  });

  it('fails for an address this machine does not have', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a host.
    await assert.rejects(freePorts('192.0.2.1', ['etcd', 'apiServer']), (error: NodeJS.ErrnoException) => error.code === 'EADDRNOTAVAIL');
  });
});
