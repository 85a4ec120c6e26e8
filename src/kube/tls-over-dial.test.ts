import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { makeTestPki, type TestPki } from '../testing/index.ts';
import { tlsOverDial } from './tls-over-dial.ts';

describe('tlsOverDial (TLS to kube-apiserver over a dialled stream)', () => {
  let pki: TestPki;
  let otherCa: string;
  let server: Server;
  /** What the last client offered as SNI (false: none). */
  let lastServername: string | false = false;
  /** A plain TCP server that accepts and never speaks TLS (a stopped apiserver behind a live port). */
  let silent: net.Server;
  const silentSockets: net.Socket[] = [];
  const dialTo = (port: number) => (): Promise<net.Socket> => new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  let port = 0;
  let silentPort = 0;

  before(async () => {
    pki = makeTestPki();
    otherCa = makeTestPki().caPem;
    server = createServer({ cert: pki.certPem, key: pki.keyPem }, (socket) => {
      lastServername = (socket as TLSSocket & { servername: string | false }).servername;
      socket.end('hello');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    silent = net.createServer((s) => { silentSockets.push(s); s.on('error', () => undefined); s.resume(); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    for (const s of silentSockets) s.destroy();
    silent.close();
  });

  it('verifies the apiserver against the given CA, and sends SNI for a name but never for an IP address', async () => {
    const byName = await tlsOverDial({ dial: dialTo(port), host: 'localhost', caPem: pki.caPem });
    assert.equal(byName.authorized, true);
    await once(byName, 'data'); // the server greets after it has noted the SNI
    byName.destroy();
    assert.equal(lastServername, 'localhost');
    const byIp = await tlsOverDial({ dial: dialTo(port), host: '127.0.0.1', caPem: pki.caPem });
    assert.equal(byIp.authorized, true);
    await once(byIp, 'data');
    byIp.destroy();
    assert.equal(lastServername, false);
  });

  it('refuses an apiserver whose certificate chains to another CA, and closes the dialled stream', async () => {
    let dialled: net.Socket | undefined;
    await assert.rejects(tlsOverDial({ dial: () => dialTo(port)().then((s) => (dialled = s)), host: '127.0.0.1', caPem: otherCa }), /certificate|self.signed|verify/i);
    assert.equal(dialled?.destroyed, true);
  });

  it('refuses a certificate issued for another name, even from the right CA', async () => {
    await assert.rejects(tlsOverDial({ dial: dialTo(port), host: 'kubernetes.default.svc', caPem: pki.caPem }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('gives up on a handshake that never completes when the signal aborts: the reason is the rejection, the stream is closed', async () => {
    const attempt = new AbortController();
    const reason = Object.assign(new Error('handshake took too long'), { code: 'TEST_TIMEOUT' });
    const before = silentSockets.length;
    const pending = tlsOverDial({ dial: dialTo(silentPort), host: '127.0.0.1', caPem: pki.caPem, signal: attempt.signal });
    const deadline = Date.now() + 10_000;
    while (silentSockets.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    attempt.abort(reason);
    await assert.rejects(pending, (error: unknown) => error === reason);
    const accepted = silentSockets.at(-1);
    await new Promise<void>((resolve) => { if (accepted?.closed) resolve(); else accepted?.once('close', () => resolve()); });
  });

  it('rejects with the signal\'s reason when the dial itself is aborted', async () => {
    const reason = new Error('gave up dialling');
    const dial = (signal?: AbortSignal): Promise<net.Socket> => new Promise((_resolve, reject) => {
      signal?.addEventListener('abort', () => reject(new Error('dial aborted')), { once: true });
    });
    const attempt = new AbortController();
    const pending = tlsOverDial({ dial, host: '127.0.0.1', caPem: pki.caPem, signal: attempt.signal });
    attempt.abort(reason);
    await assert.rejects(pending, (error: unknown) => error === reason);
  });
});
