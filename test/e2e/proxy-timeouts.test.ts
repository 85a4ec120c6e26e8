/**
 * No server-side timeout may cut a long watch or `kubectl wait --timeout=10m` through
 * the proxy. Node's https server would end a request after `requestTimeout` (300 s by
 * default) and an idle socket after `timeout`; this checks the timeouts in force on
 * the very server and socket that serve a `/k8s/clusters/` request, as the server
 * factory builds them, without shortening anything.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpsServerFactory } from '../../src/server/http-server.ts';
import { loadOrCreateTls } from '../../src/server/tls.ts';

describe('server timeouts for /k8s requests', () => {
  let server: Server | undefined;
  after(() => { server?.close(); server?.closeAllConnections(); });

  it('bounds only the receiving of a request, and sets no idle-socket timeout on the server or on a /k8s request\'s socket', async () => {
    const tls = await loadOrCreateTls({ dataDir: mkdtempSync(join(tmpdir(), 'proxy-timeouts-')), publicHost: '127.0.0.1' });
    const seen: Array<{ socketTimeout: number | undefined }> = [];
    const factory = httpsServerFactory(tls, {
      raw: [{
        prefix: '/k8s/clusters/', handler: (req, res) => {
          seen.push({ socketTimeout: req.socket.timeout });
          // A watch: the head goes out at once, events come later (here: never, until the client leaves).
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
        },
      }],
      upgrade: [],
    });
    server = (factory as unknown as (h: () => void, o: object) => Server)(() => undefined, {});
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;

    // requestTimeout bounds only receiving a request (a never-finished body): a watch's GET is
    // received at once and then lives on (src/server/http-server.test.ts shows one outliving it).
    assert.ok(server.requestTimeout > 0 && server.requestTimeout <= 120_000, `requestTimeout ${server.requestTimeout}`);
    assert.equal(server.timeout, 0, 'an idle-socket timeout would end a quiet watch');
    // headersTimeout bounds only the time to receive request headers; keep-alive only idle connections between requests.
    assert.ok(server.headersTimeout > 0 && server.headersTimeout <= 120_000, `headersTimeout ${server.headersTimeout}`);
    assert.ok(server.keepAliveTimeout >= 60_000, `keepAliveTimeout ${server.keepAliveTimeout}`);

    const answer = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\r\n\r\n')) { socket.destroy(); resolve(text); }
      });
      socket.on('error', reject);
      socket.once('secureConnect', () => socket.write('GET /k8s/clusters/c-a/api/v1/pods?watch=1 HTTP/1.1\r\nHost: x\r\n\r\n'));
    });
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.equal(seen.length, 1);
    assert.ok(!seen[0]?.socketTimeout, `a /k8s request's socket has a timeout of ${String(seen[0]?.socketTimeout)} ms`);
  });

  it('never negotiates HTTP/2: a client offering h2 and http/1.1 gets http/1.1, one offering only h2 gets no h2', async () => {
    const port = (server?.address() as AddressInfo).port;
    const negotiate = (protocols: string[]): Promise<string | false | Error> => new Promise((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: protocols });
      socket.once('secureConnect', () => { resolve(socket.alpnProtocol ?? false); socket.destroy(); });
      socket.once('error', (error: Error) => resolve(error));
    });
    assert.equal(await negotiate(['h2', 'http/1.1']), 'http/1.1');
    const onlyH2 = await negotiate(['h2']);
    assert.notEqual(onlyH2, 'h2');
  });
});
