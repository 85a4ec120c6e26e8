import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { silentLogger } from '../logging/index.ts';
import { parseListen, serverConfigFromFlags, startServer, type RunningServer } from './index.ts';

describe('server options', () => {
  it('parses HOST:PORT, IPv6 in brackets, and an empty host as every address', () => {
    assert.deepEqual(parseListen('127.0.0.1:8443'), { host: '127.0.0.1', port: 8443 });
    assert.deepEqual(parseListen('[::1]:9000'), { host: '::1', port: 9000 });
    assert.deepEqual(parseListen(':8443'), { host: '0.0.0.0', port: 8443 });
  });

  it('refuses a bad --listen and a non-https --public-url, naming the option', () => {
    for (const bad of ['8443', 'host:', 'host:99999', 'a:b:c']) assert.throws(() => parseListen(bad), /--listen: expected HOST:PORT/);
    assert.throws(() => serverConfigFromFlags({ publicUrl: 'http://drover.example.com' }), /--public-url: expected an https/);
  });

  it('defaults the public URL to the listen host and port', () => {
    assert.equal(serverConfigFromFlags({ listen: '127.0.0.1:9443' }).publicUrl, 'https://127.0.0.1:9443');
  });
});

describe('one https listener with seams for raw handlers, upgrades and Fastify', () => {
  let dir: string;
  let server: RunningServer;
  let agent: Agent;
  let base: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drover-server-'));
    const config = serverConfigFromFlags({ dataDir: dir, listen: '127.0.0.1:0', publicUrl: 'https://drover.test:8443' }, { DROVER_BOOTSTRAP_PASSWORD: 'server-test-password' });
    server = await startServer(config, {
      logger: silentLogger(),
      announce: () => undefined,
      extraFeatures: {
        raw: [{ prefix: '/test-raw/', handler: (req, res) => { res.end(`raw:${req.url ?? ''}`); } }],
        upgrade: [{ prefix: '/test-upgrade', handler: (_req, socket) => { socket.end('HTTP/1.1 101 Switching Protocols\r\nupgrade: test\r\nconnection: upgrade\r\n\r\nhello'); } }],
      },
    });
    base = `https://127.0.0.1:${server.port}`;
    agent = new Agent({ connect: { ca: server.core.tls.caPem, servername: 'localhost' } });
  });

  after(async () => {
    await agent.close();
    await server.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a certificate from its own CA that covers localhost, 127.0.0.1 and the public host', async () => {
    const res = await request(`${base}/healthz`, { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    await res.body.text();
    const peer = await new Promise<{ subjectaltname?: string }>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: server.port, ca: server.core.tls.caPem, servername: 'localhost' }, () => {
        resolve(socket.getPeerCertificate());
        socket.end();
      });
      socket.on('error', reject);
    });
    assert.match(peer.subjectaltname ?? '', /DNS:localhost/);
    assert.match(peer.subjectaltname ?? '', /IP Address:127\.0\.0\.1/);
    assert.match(peer.subjectaltname ?? '', /DNS:drover\.test/);
  });

  it('sends a raw-prefix path to its handler before Fastify, and the rest to Fastify', async () => {
    const raw = await request(`${base}/test-raw/c-1/api`, { dispatcher: agent });
    assert.equal(await raw.body.text(), 'raw:/test-raw/c-1/api');
    const api = await request(`${base}/v1/whoami`, { dispatcher: agent });
    assert.equal(api.statusCode, 401);
    assert.equal((await api.body.json() as { code: string }).code, 'DRV_ERR_UNAUTHENTICATED');
  });

  it('routes upgrades by path and refuses upgrades nobody handles', async () => {
    const answer = async (path: string): Promise<string> => new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: server.port, ca: server.core.tls.caPem, servername: 'localhost' }, () => {
        socket.write(`GET ${path} HTTP/1.1\r\nhost: localhost\r\nconnection: upgrade\r\nupgrade: test\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (c: Buffer) => { text += c.toString(); });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(await answer('/test-upgrade'), /^HTTP\/1\.1 101[\s\S]*hello$/);
    assert.match(await answer('/elsewhere'), /^HTTP\/1\.1 404/);
  });
});

describe('a graceful stop (SIGTERM)', () => {
  it('says not ready at once, serves through --shutdown-delay, and lets requests being answered finish before features close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-stop-'));
    const config = serverConfigFromFlags({ dataDir: dir, listen: '127.0.0.1:0', shutdownDelay: '1s' }, { DROVER_BOOTSTRAP_PASSWORD: 'server-test-password' });
    // A stand-in for what a request needs until it is answered: a tunnel, a pool.
    let featureOpen = true;
    const server = await startServer(config, {
      logger: silentLogger(), announce: () => undefined,
      extraFeatures: {
        raw: [{ prefix: '/slow/', handler: (_req, res) => { setTimeout(() => res.end(`feature open: ${featureOpen}`), 1500); } }],
        onClose: [() => { featureOpen = false; return Promise.resolve(); }],
      },
    });
    const base = `https://127.0.0.1:${server.port}`;
    const agent = new Agent({ connect: { ca: server.core.tls.caPem, servername: 'localhost' } });
    try {
      const slow = request(`${base}/slow/x`, { dispatcher: agent }).then(async (res) => ({ status: res.statusCode, text: await res.body.text() }));
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      const closed = server.close();
      const ready = await request(`${base}/readyz`, { dispatcher: agent });
      assert.equal(ready.statusCode, 503);
      assert.match(await ready.body.text(), /shutting down/);
      const health = await request(`${base}/healthz`, { dispatcher: agent });
      assert.equal(health.statusCode, 200, 'still serving during the delay');
      await health.body.text();
      assert.deepEqual(await slow, { status: 200, text: 'feature open: true' }, 'answered before the features closed');
      await closed;
      assert.ok(Date.now() - started >= 1000, 'the delay was kept');
      assert.ok(Date.now() - started < 8000, 'the kept-alive connection, idle once answered, was closed rather than waited for');
      assert.equal(featureOpen, false);
      await assert.rejects(request(`${base}/healthz`, { dispatcher: new Agent({ connect: { ca: server.core.tls.caPem, servername: 'localhost' } }) }), /ECONNREFUSED/);
    } finally {
      await agent.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
