import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { silentLogger } from '../logging/index.ts';
import { DroverError } from '../errors/index.ts';
import { TunnelClient } from './tunnel-client.ts';
import { startTarget, startTunnelHarness, until, type TestTarget, type TunnelHarness } from '../testing/index.ts';

function collect(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DroverError, `expected a DroverError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

// Both transports: HTTP/2 on the upgraded socket (the agent's default) and inside a WebSocket (its fallback).
for (const transport of ['auto', 'websocket'] as const) describe(`tunnel streams (${transport})`, { timeout: 60_000 }, () => {
  let harness: TunnelHarness;
  let echo: TestTarget;
  let client: TunnelClient;
  const cluster = `c-${randomBytes(4).toString('hex')}`;
  const allowed = new Set<number>();

  before(async () => {
    harness = await startTunnelHarness();
    echo = await startTarget();
    allowed.add(echo.port);
    client = new TunnelClient({
      serverUrl: harness.url, ca: harness.pki.caPem, headers: () => ({ 'x-test-token': `cluster:${cluster}` }),
      allow: (host, port) => host === '127.0.0.1' && allowed.has(port),
      handlers: {
        'GET /v1/cluster-info': () => ({ body: { clusterId: cluster, version: 'v1.36.3' } }),
        'POST /v1/echo': (req) => ({ status: 201, headers: { 'x-got': req.headers['x-send'] ?? '' }, body: req.body }),
        'POST /v1/nothing': () => ({ status: 204 }),
      },
      logger: silentLogger(), backoff: { initialMs: 50, maxMs: 500 }, transport,
    });
    const up = new Promise<void>((resolve) => harness.tunnel.on('session-up', () => resolve()));
    client.start();
    await up;
  });

  after(async () => {
    await client.close();
    await harness.stop();
    await echo.close();
  });

  it('carries many concurrent streams, each with its own bytes intact', async () => {
    const payloads = Array.from({ length: 200 }, (_, i) => randomBytes(1000 + i * 97));
    const results = await Promise.all(payloads.map(async (payload) => {
      const stream = await harness.tunnel.dial(cluster, echo.address);
      const got = collect(stream);
      stream.end(payload);
      return got;
    }));
    results.forEach((got, i) => assert.ok(got.equals(payloads[i] ?? Buffer.alloc(0)), `stream ${i} corrupted`));
  });

  it('reports that the cluster agent session carried the stream', async () => {
    const stream = await harness.tunnel.dial(cluster, echo.address);
    assert.equal(stream.via.identity.kind, 'cluster');
    assert.equal(stream.via.identity.clusterId, cluster);
    stream.destroy();
  });

  it('half-closes from the server side: the target sees end of input and can still answer', async () => {
    const target = await startTarget((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => socket.end(`got ${Buffer.concat(chunks).toString()} then EOF`));
    });
    allowed.add(target.port);
    const stream = await harness.tunnel.dial(cluster, target.address);
    const got = collect(stream);
    stream.end('ping');
    assert.equal((await got).toString(), 'got ping then EOF');
    await target.close();
  });

  it('half-closes from the target side: the server reads end of stream and can still write', async () => {
    let received = '';
    let targetEnded!: () => void;
    const done = new Promise<void>((resolve) => { targetEnded = resolve; });
    const target = await startTarget((socket) => {
      socket.end('bye from target');
      socket.on('data', (c: Buffer) => { received += c.toString(); });
      socket.on('end', () => targetEnded());
    });
    allowed.add(target.port);
    const stream = await harness.tunnel.dial(cluster, target.address);
    assert.equal((await collect(stream)).toString(), 'bye from target');
    stream.end('written after the target ended');
    await done;
    assert.equal(received, 'written after the target ended');
    await target.close();
  });

  it('fails a dial the agent cannot connect with a clear bad-gateway error', async () => {
    const dead = await startTarget();
    await dead.close();
    allowed.add(dead.port);
    await rejectsWith(harness.tunnel.dial(cluster, dead.address), 'DRV_ERR_BAD_GATEWAY', /ECONNREFUSED/);
  });

  it('refuses an address that is not on the agent allow-list, without connecting it', async () => {
    const target = await startTarget();
    await rejectsWith(harness.tunnel.dial(cluster, target.address), 'DRV_ERR_CLUSTER_UNAVAILABLE', /allow-list/);
    assert.equal(target.connections.length, 0);
    await target.close();
  });

  it('refuses malformed dial addresses before they reach the agent', async () => {
    for (const address of ['127.0.0.1', 'http://x:1', 'a b:80', '127.0.0.1:0', '127.0.0.1:70000', 'x:1/path']) {
      await rejectsWith(harness.tunnel.dial(cluster, address), 'DRV_ERR_INVALID_ARGUMENT');
    }
  });

  it('fails a dial for a cluster with no agent as unavailable', async () => {
    await rejectsWith(harness.tunnel.dial('c-nobody', echo.address), 'DRV_ERR_CLUSTER_UNAVAILABLE', /no connected agent/);
  });

  it('propagates a target reset to the server side stream as an error', async () => {
    const target = await startTarget((socket) => { socket.once('data', () => socket.resetAndDestroy()); });
    allowed.add(target.port);
    const stream = await harness.tunnel.dial(cluster, target.address);
    const outcome = new Promise<Error | undefined>((resolve) => {
      stream.on('error', resolve);
      stream.on('close', () => resolve(undefined));
      stream.resume();
    });
    stream.write('trigger');
    const error = await outcome;
    assert.ok(error, 'the stream ended without an error');
    assert.match(error.message, /CONNECT_ERROR/);
    await target.close();
  });

  it('closes the target connection when the server resets its stream', async () => {
    let targetSocket: net.Socket | undefined;
    const target = await startTarget((socket) => { targetSocket = socket; });
    allowed.add(target.port);
    const stream = await harness.tunnel.dial(cluster, target.address);
    await until('the target connection', () => targetSocket !== undefined);
    // A stream in the session is reset, and the agent resets the target. A dial's own
    // connection reaches the agent as a FIN before its stream's reset can (two
    // connections), so the target sees its input end, then the reset; a target that
    // has stopped reading after the end (this one) notices that only when it next
    // writes. Every real dial carries TLS, which tells that end from a clean one.
    const over = new Promise<void>((resolve) => {
      targetSocket?.on('close', () => resolve());
      if (stream.carrier === 'connection') targetSocket?.on('end', () => resolve());
    });
    targetSocket?.resume();
    stream.destroy();
    await over;
    if (stream.carrier === 'connection') {
      await until('the reset reaching the target', () => {
        targetSocket?.write('x');
        return targetSocket?.destroyed === true;
      });
    }
    await target.close();
  });

  it('aborts a dial when its signal fires', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(harness.tunnel.dial(cluster, echo.address, { signal: controller.signal }), { name: 'AbortError' });
  });

  it('bounds only the dial with its signal: a stream outlives a signal that fires after the agent answered', async () => {
    const controller = new AbortController();
    const stream = await harness.tunnel.dial(cluster, echo.address, { signal: controller.signal });
    controller.abort(new Error('connect timeout'));
    await new Promise((r) => setImmediate(r));
    const got = collect(stream);
    stream.end('still here');
    assert.equal((await got).toString(), 'still here');
  });

  it('answers ordinary requests from the agent routes', async () => {
    const session = harness.tunnel.sessionFor(cluster);
    assert.ok(session);
    const info = await session.request('GET', '/v1/cluster-info');
    assert.equal(info.status, 200);
    assert.deepEqual(info.json(), { clusterId: cluster, version: 'v1.36.3' });
    const echoed = await session.request('POST', '/v1/echo', { body: 'hello', headers: { 'x-send': 'yes' } });
    assert.equal(echoed.status, 201);
    assert.equal(echoed.body.toString(), 'hello');
    assert.equal(echoed.headers['x-got'], 'yes');
    // A reply without a body ends with its headers: the request must still complete.
    assert.equal((await session.request('POST', '/v1/nothing', { body: '{}', signal: AbortSignal.timeout(5_000) })).status, 204);
    const missing = await session.request('GET', '/v1/secrets');
    assert.equal(missing.status, 404);
  });

  it('keeps a slow reader bounded and does not stall other streams', async () => {
    let targetWritten = 0;
    const firehose = await startTarget((socket) => {
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = (): void => {
        while (!socket.destroyed && targetWritten < 512 * 1024 * 1024) {
          targetWritten += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    allowed.add(firehose.port);
    const slow = await harness.tunnel.dial(cluster, firehose.address);
    slow.pause(); // never read
    await new Promise((r) => setTimeout(r, 1500));
    const plateau = targetWritten;
    // Meanwhile another stream on the same session works.
    const other = await harness.tunnel.dial(cluster, echo.address);
    const got = collect(other);
    const payload = randomBytes(256 * 1024);
    other.end(payload);
    assert.ok((await got).equals(payload));
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(plateau < 32 * 1024 * 1024, `the target wrote ${plateau} bytes into an unread stream`);
    assert.ok(targetWritten - plateau <= 1024 * 1024, `buffering kept growing: ${plateau} then ${targetWritten}`);
    slow.destroy();
    await firehose.close();
  });

  it('does not stall uploads on other streams when one target never reads', async () => {
    // The mirror of the test above: the server is the sender. Once the target's socket and
    // kernel buffers are full, the agent stops reading that stream, and what is left in
    // flight counts against the session's window until it is read.
    const sink = await startTarget((socket) => socket.pause());
    allowed.add(sink.port);
    const stuck = await harness.tunnel.dial(cluster, sink.address);
    stuck.on('error', () => undefined);
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const pump = (): void => {
      while (!stuck.destroyed && sent < 64 * 1024 * 1024) {
        sent += chunk.length;
        if (!stuck.write(chunk)) return void stuck.once('drain', pump);
      }
    };
    pump();
    // Until the stuck stream stops taking data (its window and the buffers on the way are full).
    for (let seen = -1, deadline = Date.now() + 20_000; sent !== seen && Date.now() < deadline;) {
      seen = sent;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(sent < 64 * 1024 * 1024, 'the target never read, yet the tunnel took everything');
    const other = await harness.tunnel.dial(cluster, echo.address);
    const got = collect(other);
    const payload = randomBytes(256 * 1024);
    other.end(payload);
    assert.ok((await got).equals(payload));
    stuck.destroy();
    await sink.close();
  });
});
