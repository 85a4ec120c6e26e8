/**
 * Fixtures for the tunnel's tests and benchmark (not used by production code; the
 * lead may move it to src/testing/): a throwaway PKI made with openssl, an https
 * server hosting a TunnelServer on /v3/connect (and /cacerts), echo targets, and a
 * TCP relay that can go silent without closing, to simulate a dead link.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { DroverError } from '../errors/index.ts';
import { silentLogger } from '../logging/index.ts';
import { TunnelServer, type AgentIdentity, type TunnelServerOptions } from '../tunnel/index.ts';

export interface TestPki { caPem: string; certPem: string; keyPem: string }

/** A CA and a serving certificate for 127.0.0.1 and localhost. */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'drover-tunnel-pki-'));
  const run = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' }); };
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=drover-test-ca', '-days', '2']);
    run(['req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    run(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '2', '-extfile', 'ext.cnf']);
    const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
    return { caPem: read('ca.crt'), certPem: read('srv.crt'), keyPem: read('srv.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TunnelHarness {
  url: string;
  port: number;
  pki: TestPki;
  tunnel: TunnelServer;
  /** Stops the https server and destroys the tunnel server (agents see their links drop). */
  stop(): Promise<void>;
  /** Starts a fresh https server and TunnelServer on the same port. */
  restart(): Promise<void>;
  /** The Upgrade header of every upgrade request on /v3/connect, in order. */
  upgrades: string[];
}

/** Tokens as `cluster:<id>` or `node:<id>:<node>` in `x-test-token`, anything else refused with 401. */
export function testAuthenticate(req: { headers: Record<string, string | string[] | undefined> }): Promise<AgentIdentity> {
  const token = String(req.headers['x-test-token'] ?? '');
  const [kind, clusterId, nodeName] = token.split(':');
  if (kind === 'cluster' && clusterId) return Promise.resolve({ clusterId, kind: 'cluster' });
  if (kind === 'node' && clusterId && nodeName) return Promise.resolve({ clusterId, kind: 'node', nodeName });
  return Promise.reject(new DroverError('DRV_ERR_UNAUTHENTICATED', 'unknown tunnel token'));
}

export interface HarnessOptions extends Partial<TunnelServerOptions> {
  pki?: TestPki;
  port?: number;
  /** Upgrades on paths other than /v3/connect (the benchmark's bare-WebSocket route). */
  otherUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Acts as a proxy that passes only WebSocket upgrades (AWS ALB): any other upgrade gets a bare 400. */
  websocketOnly?: boolean;
}

export async function startTunnelHarness(harnessOptions: HarnessOptions = {}): Promise<TunnelHarness> {
  const { pki: givenPki, port, otherUpgrade, websocketOnly, ...options } = harnessOptions;
  const pki = givenPki ?? makeTestPki();
  let server: https.Server | undefined;
  const sockets = new Set<Duplex>();
  const harness: TunnelHarness = {
    url: '', port: port ?? 0, pki, upgrades: [],
    tunnel: undefined as unknown as TunnelServer,
    stop: async () => {
      harness.tunnel.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
    },
    restart: async () => {
      harness.tunnel = new TunnelServer({ authenticate: testAuthenticate, logger: silentLogger(), ...options });
      server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
        if (req.url === '/cacerts') res.end(pki.caPem);
        else res.writeHead(404).end();
      });
      server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
      const tunnel = harness.tunnel;
      server.on('upgrade', (req, socket, head) => {
        const offered = String(req.headers.upgrade ?? '');
        if (req.url?.startsWith('/v3/connect')) harness.upgrades.push(offered);
        if (websocketOnly && offered.toLowerCase() !== 'websocket') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        else if (req.url?.startsWith('/v3/connect')) tunnel.handleUpgrade(req, socket, head);
        else if (otherUpgrade) otherUpgrade(req, socket, head);
        else socket.destroy();
      });
      await new Promise<void>((resolve, reject) => {
        server?.once('error', reject);
        server?.listen(harness.port, '127.0.0.1', () => resolve());
      });
      harness.port = (server.address() as net.AddressInfo).port;
      harness.url = `https://127.0.0.1:${harness.port}`;
    },
  };
  await harness.restart();
  return harness;
}

/**
 * An upgrade request on `<url>/v3/connect` as an attacker would make it; resolves with
 * the answer's status, headers and body, and the socket when it switched (else undefined).
 */
export function rawUpgrade(url: string, caPem: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string; socket?: Duplex }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${url}/v3/connect`, { ca: caPem, agent: false, headers: { Connection: 'Upgrade', ...headers } });
    req.on('upgrade', (res, socket) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', socket }));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface TestTarget { port: number; address: string; connections: net.Socket[]; close(): Promise<void> }

/** A TCP server on loopback (half-open allowed); by default it echoes and ends when the peer ends. */
export async function startTarget(onConnection?: (socket: net.Socket) => void): Promise<TestTarget> {
  const connections: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    connections.push(socket);
    socket.on('error', () => undefined);
    if (onConnection) return onConnection(socket);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port, address: `127.0.0.1:${port}`, connections,
    close: () => new Promise((resolve) => {
      for (const c of connections) c.destroy();
      server.close(() => resolve());
    }),
  };
}

export interface Relay { port: number; silence(): void; close(): Promise<void> }

/** A TCP relay to `targetPort` whose `silence()` stops forwarding both ways without closing anything. */
export async function startRelay(targetPort: number): Promise<Relay> {
  let silent = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) { sockets.add(s); s.on('error', () => undefined); }
    inbound.on('data', (d: Buffer) => { if (!silent) outbound.write(d); });
    outbound.on('data', (d: Buffer) => { if (!silent) inbound.write(d); });
    // Once silent, a close on one side is not passed on either: each end must notice by itself.
    inbound.on('close', () => { if (!silent) outbound.destroy(); });
    outbound.on('close', () => { if (!silent) inbound.destroy(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    silence: () => { silent = true; },
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Resolves when `predicate` holds, polling every 20 ms, or rejects after `timeoutMs`. */
export async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
