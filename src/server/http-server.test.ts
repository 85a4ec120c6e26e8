import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:https';
import type { FastifyServerFactoryHandler } from 'fastify';
import { makeTestPki } from '../testing/index.ts';
import { httpsServerFactory } from './http-server.ts';

const pki = makeTestPki();

/** The listener as the server builds it, answering a request once its body has arrived, or holding a GET open for `holdMs`. */
async function listener(holdMs: number): Promise<Server> {
  const handler = ((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('watching\n');
      setTimeout(() => res.end('done\n'), holdMs);
      return;
    }
    req.resume();
    req.on('end', () => res.end('received\n'));
  }) as FastifyServerFactoryHandler;
  const server = httpsServerFactory({ certPem: pki.certPem, keyPem: pki.keyPem }, { raw: [], upgrade: [], receiveTimeouts: { requestMs: 1_000, checkEveryMs: 200 } })(handler, {}) as Server;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** Sends `head` (and never more), and returns what came back by the time the server closed the connection. */
async function answerTo(server: Server, head: string, giveUpMs: number): Promise<{ text: string; closedByServer: boolean; ms: number }> {
  const started = Date.now();
  const socket = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: pki.caPem, servername: 'localhost' });
  await once(socket, 'secureConnect');
  socket.write(head);
  let text = '';
  socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  const closed = once(socket, 'close').then(() => true);
  const gaveUp = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), giveUpMs));
  const closedByServer = await Promise.race([closed, gaveUp]);
  socket.destroy();
  return { text, closedByServer, ms: Date.now() - started };
}

describe('the listener bounds how long a request may take to arrive, not how long it may live', () => {
  const servers: Server[] = [];
  after(() => { for (const server of servers) server.close(); });

  it('closes a connection whose body never finishes (408), so nobody can hold connections for ever', async () => {
    const server = await listener(0);
    servers.push(server);
    const answer = await answerTo(server, 'POST /v1/session HTTP/1.1\r\nHost: drover\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user', 5_000);
    assert.equal(answer.closedByServer, true, 'the server closed it');
    assert.match(answer.text, /^HTTP\/1\.1 408 /);
    assert.ok(answer.ms < 3_000, `closed after ${answer.ms} ms`);
  });

  it('lets a request received at once (a watch) stream its answer for longer than the bound', async () => {
    const server = await listener(2_500);
    servers.push(server);
    const answer = await answerTo(server, 'GET /k8s/clusters/c-1/api/v1/pods?watch=1 HTTP/1.1\r\nHost: drover\r\nConnection: close\r\n\r\n', 6_000);
    assert.match(answer.text, /^HTTP\/1\.1 200 [\s\S]*watching[\s\S]*done/);
    assert.ok(answer.ms >= 2_500, `the answer lived ${answer.ms} ms`);
  });
});
