/**
 * The peer relay seen from outside: a real server (SQLite) whose presence is told
 * that stand-in replicas hold tunnels, and clients that try to use the peer side
 * without being a replica.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:tls';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { silentLogger } from '../logging/index.ts';
import { serverConfigFromFlags, startServer, type RunningServer } from '../server/index.ts';
import { createCa, issueCertificate, type KeyPair } from '../certificates/index.ts';
import { loadPeerCredentials, peerServerName, relayHeader, type PeerCredentials } from './index.ts';
import { misdirectedHeader } from '../proxy/index.ts';
import { rendezvousScore } from './presence.ts';

interface Seen { url: string; headers: IncomingHttpHeaders; authorized: boolean }

/** What a replica answers to a relayed request for a cluster it holds no live session for. */
const misdirected = 'HTTP/1.1 421 Misdirected Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n'
  + `${misdirectedHeader}: r-standin\r\nconnection: close\r\n\r\n{}`;

/**
 * A stand-in replica: a TLS listener with a peer (or any) certificate that records what
 * reaches it (and counts the connections made to it). `misdirect`: how many requests it first answers
 * with a replica's 421, as one whose session ended (or is not ready yet) since its last beat.
 */
async function standIn(tls: KeyPair & { caPem?: string }, options: { misdirect?: number } = {}): Promise<{ server: Server; port: number; seen: Seen[]; connections: () => number }> {
  const seen: Seen[] = [];
  let connections = 0;
  let misdirect = options.misdirect ?? 0;
  const server = createServer({ cert: tls.certPem, key: tls.keyPem, ...(tls.caPem ? { ca: tls.caPem, requestCert: true, rejectUnauthorized: false } : {}) }, (req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, authorized: (req.socket as { authorized?: boolean }).authorized === true });
    if (misdirect > 0) {
      misdirect -= 1;
      res.writeHead(421, { 'content-type': 'application/json', [misdirectedHeader]: 'r-standin' });
      res.end('{}');
      return;
    }
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => res.end(`got ${JSON.stringify(body)}`));
      return;
    }
    if (req.url?.includes('watch=true')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
      // The end comes later: the caller must have the first event before it.
      setTimeout(() => res.end('{"type":"DELETED"}\n'), 300);
      return;
    }
    res.end('answered by the other replica');
  });
  server.on('connection', () => { connections += 1; });
  server.on('upgrade', (req, socket) => {
    seen.push({ url: req.url ?? '', headers: req.headers, authorized: true });
    if (misdirect > 0) {
      misdirect -= 1;
      socket.end(misdirected);
      return;
    }
    // As a real replica answers: with its HSTS header.
    socket.write('HTTP/1.1 101 Switching Protocols\r\nstrict-transport-security: max-age=31536000\r\nupgrade: SPDY/3.1\r\nconnection: Upgrade\r\n\r\n');
    socket.on('data', (chunk: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), chunk])));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, seen, connections: () => connections };
}

/** A cluster id that `first` outranks `second` for (rendezvous): the relay tries `first` first. */
function clusterRankedFirst(prefix: string, first: string, second: string): string {
  for (let i = 0; ; i += 1) {
    const id = `${prefix}-${i}`;
    if (rendezvousScore(id, first) > rendezvousScore(id, second)) return id;
  }
}

describe('the peer relay between replicas', () => {
  let dir: string;
  let server: RunningServer;
  let base: string;
  let plain: Agent;
  let adminToken: string;
  let registrationToken: string;
  let peer: PeerCredentials;
  let replicaB: Awaited<ReturnType<typeof standIn>>;
  let impostor: Awaited<ReturnType<typeof standIn>>;
  /** Listens where the database says replica r-old is, but is a newer process: replica r-new. */
  let restarted: Awaited<ReturnType<typeof standIn>>;
  /** Holds no live session any more: answers every relayed request with a 421. */
  let gone: Awaited<ReturnType<typeof standIn>>;
  /** Its session is not ready for the first requests (421), then it serves them. */
  let warming: Awaited<ReturnType<typeof standIn>>;
  const cRestarted = clusterRankedFirst('c-restarted', 'r-old', 'r-b');
  const cGone = clusterRankedFirst('c-gone', 'r-gone', 'r-b');

  const send = async (path: string, options: { token?: string; headers?: Record<string, string>; dispatcher?: Agent } = {}) => {
    const res = await request(`${base}${path}`, {
      dispatcher: options.dispatcher ?? plain,
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
    });
    return { status: res.statusCode, text: await res.body.text() };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drover-relay-'));
    const config = serverConfigFromFlags({ dataDir: dir, listen: '127.0.0.1:0' }, { DROVER_REPLICA_HEARTBEAT_MS: '200', DROVER_BOOTSTRAP_PASSWORD: 'relay-test-password' });
    server = await startServer(config, { logger: silentLogger(), announce: () => undefined });
    base = `https://127.0.0.1:${server.port}`;
    plain = new Agent({ connect: { ca: server.core.tls.caPem } });
    const login = await request(`${base}/v1/login`, { method: 'POST', dispatcher: plain, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'relay-test-password' }) });
    adminToken = (await login.body.json() as { token: string }).token;
    const created = await request(`${base}/v1/clusters`, {
      method: 'POST', dispatcher: plain, headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ name: 'relay-test' }),
    });
    registrationToken = (await created.body.json() as { registration: { token: string } }).registration.token;
    // What only a replica can do: read the peer CA with the database and the encryption key.
    const db = server.core.store.db;
    peer = await loadPeerCredentials(db, server.core.secrets, 'r-standin');
    replicaB = await standIn({ ...(await loadPeerCredentials(db, server.core.secrets, 'r-b')), caPem: peer.caPem });
    const otherCa = await createCa('somebody-else', 1);
    impostor = await standIn(await issueCertificate(otherCa, { commonName: 'drover-replica:r-evil', usage: 'peer', hosts: [peerServerName], validDays: 1 }));
    restarted = await standIn({ ...(await loadPeerCredentials(db, server.core.secrets, 'r-new')), caPem: peer.caPem });
    gone = await standIn({ ...(await loadPeerCredentials(db, server.core.secrets, 'r-gone')), caPem: peer.caPem }, { misdirect: Infinity });
    warming = await standIn({ ...(await loadPeerCredentials(db, server.core.secrets, 'r-warming')), caPem: peer.caPem }, { misdirect: 2 });
    const alive = Date.now() + 3600_000;
    const replica = (id: string, port: number) => ({ id, address: `127.0.0.1:${port}`, version: 'test', started_at: 'x', heartbeat_at: alive });
    await db.insertInto('replicas').values([
      replica('r-b', replicaB.port), replica('r-evil', impostor.port), replica('r-old', restarted.port), replica('r-gone', gone.port), replica('r-warming', warming.port),
    ]).execute();
    const tunnel = (clusterId: string, replicaId: string) => ({ cluster_id: clusterId, replica_id: replicaId, sessions: 1, renewed_at: alive });
    await db.insertInto('cluster_tunnels').values([
      tunnel('c-remote', 'r-b'), tunnel('c-impostor', 'r-evil'), tunnel(cRestarted, 'r-old'), tunnel(cRestarted, 'r-b'),
      tunnel(cGone, 'r-gone'), tunnel(cGone, 'r-b'), tunnel('c-warming', 'r-warming'), tunnel('c-gone-body', 'r-gone'),
    ]).execute();
  });

  after(async () => {
    await plain.close();
    await server.close();
    for (const s of [replicaB, impostor, restarted, gone, warming]) s.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const relayedCount = async (path: string, token: string): Promise<{ status: number; text: string }> => {
    let last = { status: 0, text: '' };
    // The server learns of the stand-in's tunnel at its next heartbeat (200 ms here).
    for (let i = 0; i < 100; i += 1) {
      last = await send(path, { token });
      if (last.status === 200) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    return last;
  };

  it('relays a request for a cluster another replica holds, with the caller\'s own credential, over mutual TLS', async () => {
    const answer = await relayedCount('/k8s/clusters/c-remote/api/v1/namespaces', adminToken);
    assert.deepEqual(answer, { status: 200, text: 'answered by the other replica' });
    const last = replicaB.seen.at(-1);
    assert.equal(last?.url, '/k8s/clusters/c-remote/api/v1/namespaces');
    assert.equal(last?.headers.authorization, `Bearer ${adminToken}`, 'the receiving replica authenticates the caller itself');
    assert.match(String(last?.headers[relayHeader]), /^r-[a-z2-7]{10}$/);
    assert.equal(last?.authorized, true, 'the relaying replica proved a peer certificate');
  });

  it('relays a request body whole, sent with a length or chunked, and a request without one', async () => {
    await relayedCount('/k8s/clusters/c-remote/api/v1/namespaces', adminToken);
    const post = async (body: string | string[], headers: Record<string, string> = {}) => {
      const res = await request(`${base}/k8s/clusters/c-remote/api/v1/namespaces`, {
        method: 'POST', dispatcher: plain, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...headers },
        // A stream is sent chunked (no Content-Length).
        body: Array.isArray(body) ? Readable.from(body.map((part) => Buffer.from(part))) : body,
      });
      return { status: res.statusCode, text: await res.body.text() };
    };
    assert.deepEqual(await post('{"kind":"Namespace"}'), { status: 200, text: 'got "{\\"kind\\":\\"Namespace\\"}"' });
    assert.deepEqual(await post(['{"kind":', '"Namespace"}']), { status: 200, text: 'got "{\\"kind\\":\\"Namespace\\"}"' });
    assert.equal(replicaB.seen.at(-1)?.headers['transfer-encoding'], 'chunked');
    assert.deepEqual(await post(''), { status: 200, text: 'got ""' });
  });

  it('streams a watch through the relay as it comes, without waiting for its end', async () => {
    const res = await request(`${base}/k8s/clusters/c-remote/api/v1/pods?watch=true`, { dispatcher: plain, headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(res.statusCode, 200);
    const chunks: string[] = [];
    for await (const chunk of res.body) {
      chunks.push(String(chunk));
      if (chunks.length === 1) assert.equal(chunks[0], '{"type":"ADDED"}\n', 'the first event arrives before the stand-in ends the watch');
    }
    assert.equal(chunks.join(''), '{"type":"ADDED"}\n{"type":"DELETED"}\n');
  });

  it('names the caller in X-Forwarded-For for the receiving replica\'s audit trail, never the caller\'s own value', async () => {
    await relayedCount('/k8s/clusters/c-remote/api/v1/namespaces', adminToken);
    const forged = await send('/k8s/clusters/c-remote/api/v1/pods', { token: adminToken, headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(forged.status, 200);
    const last = replicaB.seen.at(-1);
    assert.equal(last?.url, '/k8s/clusters/c-remote/api/v1/pods');
    assert.equal(last?.headers['x-forwarded-for'], '127.0.0.1', 'the caller as the relaying replica saw it; the caller\'s own header dropped');
  });

  it('relays an upgrade (exec, port-forward) and joins the two streams', async () => {
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: server.core.tls.caPem, servername: 'localhost' });
    await new Promise((r) => socket.once('secureConnect', r));
    socket.write(`POST /k8s/clusters/c-remote/api/v1/namespaces/x/pods/p/exec HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n`);
    let got = '';
    socket.on('data', (c: Buffer) => { got += c.toString(); if (got.includes('\r\n\r\n') && !got.includes('echo:')) socket.write('ping'); });
    for (let i = 0; i < 100 && !got.includes('echo:ping'); i += 1) await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    assert.match(got, /^HTTP\/1\.1 101 /);
    assert.equal(got.match(/strict-transport-security/gi)?.length, 1, 'one HSTS header, the receiving replica\'s');
    assert.match(got, /echo:ping/);
    assert.equal(replicaB.seen.at(-1)?.headers.upgrade, 'SPDY/3.1');
  });

  it('refuses an upgrade that declares a body before relaying it, as the receiving replica would (it cannot see a chunked one)', async () => {
    const before = replicaB.seen.length;
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: server.core.tls.caPem, servername: 'localhost' });
    await new Promise((r) => socket.once('secureConnect', r));
    socket.write(`POST /k8s/clusters/c-remote/api/v1/namespaces/x/pods/p/exec HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
    let got = '';
    socket.on('data', (c: Buffer) => { got += c.toString(); });
    await new Promise((r) => socket.once('close', r));
    assert.match(got, /^HTTP\/1\.1 400 [\s\S]*an upgrade request may not carry a body \(it declared transfer-encoding\)/);
    assert.equal(replicaB.seen.length, before, 'nothing reached the other replica');
  });

  it('refuses the relay header from every client that has not proved a replica certificate', async () => {
    const publicCa = { certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'ca.key'), 'utf8') };
    const fromPublicCa = await issueCertificate(publicCa, { commonName: 'drover-replica:r-evil', usage: 'peer', hosts: [peerServerName], validDays: 1 });
    const fromOtherCa = await issueCertificate(await createCa('other', 1), { commonName: 'drover-replica:r-evil', usage: 'peer', hosts: [peerServerName], validDays: 1 });
    const withCert = (cert: KeyPair) => new Agent({ connect: { ca: server.core.tls.caPem, cert: cert.certPem, key: cert.keyPem } });
    const clients: Array<[string, { token?: string; dispatcher?: Agent }]> = [
      ['a user with a valid token', { token: adminToken }],
      ['an agent with its registration token', { token: registrationToken }],
      ['no credential at all', {}],
      ['a certificate from the server\'s public CA', { token: adminToken, dispatcher: withCert(fromPublicCa) }],
      ['a certificate from another CA', { token: adminToken, dispatcher: withCert(fromOtherCa) }],
    ];
    const before = replicaB.seen.length;
    for (const [who, options] of clients) {
      for (const path of ['/k8s/clusters/c-remote/api/v1/namespaces', '/k8s/clusters/c-local/version']) {
        const answer = await send(path, { ...options, headers: { [relayHeader]: 'r-b' } });
        assert.equal(answer.status, 403, `${who} on ${path}: ${answer.text}`);
        assert.match(answer.text, /for Drover replicas only/);
      }
      await options.dispatcher?.close();
    }
    assert.equal(replicaB.seen.length, before, 'nothing was relayed');
  });

  it('refuses the relay header on every request of a kept-alive connection, before and after requests without it', async () => {
    const one = new Agent({ connect: { ca: server.core.tls.caPem }, connections: 1 });
    try {
      const before = replicaB.seen.length;
      for (const header of [false, true, false, true]) {
        const answer = await send('/k8s/clusters/c-remote/api/v1/namespaces', { token: adminToken, dispatcher: one, ...(header ? { headers: { [relayHeader]: 'r-b' } } : {}) });
        assert.equal(answer.status, header ? 403 : 200, answer.text);
      }
      assert.equal(replicaB.seen.length, before + 2, 'only the requests without the header were relayed');
    } finally {
      await one.close();
    }
  });

  it('never relays a request that arrived relayed; one for a cluster it holds no session for goes back with a 421 (no loops)', async () => {
    const asReplica = new Agent({ connect: { ca: peer.caPem, cert: peer.certPem, key: peer.keyPem, servername: peerServerName } });
    try {
      const before = replicaB.seen.length;
      const res = await request(`${base}/k8s/clusters/c-remote/api/v1/namespaces`, { dispatcher: asReplica, headers: { authorization: `Bearer ${adminToken}`, [relayHeader]: 'r-standin' } });
      const text = await res.body.text();
      assert.equal(res.statusCode, 421, text);
      assert.match(String(res.headers[misdirectedHeader]), /^r-[a-z2-7]{10}$/, 'marked as a replica\'s answer, naming it');
      assert.match(text, /holds no live agent session for cluster c-remote/);
      assert.equal(replicaB.seen.length, before);
    } finally {
      await asReplica.close();
    }
  });

  it('does not take a newer process on a holder\'s address for that holder: its certificate names another replica', async () => {
    // Replica r-old was restarted (or its address reused) since its last beat: the process there
    // now is r-new, with none of r-old's sessions. The relay goes on to the next holder.
    const answer = await send(`/k8s/clusters/${cRestarted}/api/v1/namespaces`, { token: adminToken });
    assert.deepEqual(answer, { status: 200, text: 'answered by the other replica' });
    assert.ok(restarted.connections() > 0, 'the relay dialed the address first');
    assert.equal(restarted.seen.length, 0, 'and sent it nothing: no request, no token');
    assert.equal(replicaB.seen.at(-1)?.url, `/k8s/clusters/${cRestarted}/api/v1/namespaces`);
  });

  it('after a holder\'s 421 (its session ended since its last beat), tries the next holder: requests and upgrades', async () => {
    const before = gone.seen.length;
    assert.deepEqual(await send(`/k8s/clusters/${cGone}/api/v1/namespaces`, { token: adminToken }), { status: 200, text: 'answered by the other replica' });
    assert.equal(gone.seen.length, before + 1, 'the first holder was asked first');
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: server.core.tls.caPem, servername: 'localhost' });
    await new Promise((r) => socket.once('secureConnect', r));
    socket.write(`POST /k8s/clusters/${cGone}/api/v1/namespaces/x/pods/p/exec HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n`);
    let got = '';
    socket.on('data', (c: Buffer) => { got += c.toString(); if (got.includes('\r\n\r\n') && !got.includes('echo:')) socket.write('ping'); });
    for (let i = 0; i < 100 && !got.includes('echo:ping'); i += 1) await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    assert.match(got, /^HTTP\/1\.1 101 /, 'the caller never sees the 421');
    assert.match(got, /echo:ping/);
    assert.equal(gone.seen.at(-1)?.headers.upgrade, 'SPDY/3.1', 'the upgrade was offered to the first holder too');
  });

  it('waits for a sole holder whose session is not ready yet, instead of answering 503', async () => {
    const answer = await send('/k8s/clusters/c-warming/api/v1/namespaces', { token: adminToken });
    assert.deepEqual(answer, { status: 200, text: 'answered by the other replica' });
    assert.equal(warming.seen.length, 3, 'two 421s, then served');
  });

  it('answers 503 with Retry-After when a holder\'s 421 comes after the request body went to it (no copy is kept)', async () => {
    const res = await request(`${base}/k8s/clusters/c-gone-body/api/v1/namespaces`, {
      method: 'POST', dispatcher: plain, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: '{"kind":"Namespace"}',
    });
    const text = await res.body.text();
    assert.equal(res.statusCode, 503, text);
    assert.equal(res.headers['retry-after'], '1');
    assert.match(text, /moved to another Drover replica while this request was on its way; retry it/);
  });

  it('lists the replicas to admins only, this one marked as the one that answered', async () => {
    const post = async (path: string, body: unknown, token?: string) => {
      const res = await request(`${base}${path}`, {
        method: 'POST', dispatcher: plain, body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
      return res.body.json() as Promise<Record<string, unknown>>;
    };
    await post('/v1/users', { username: 'plain-user', password: 'plain-user-password', mustChangePassword: false }, adminToken);
    const userToken = String((await post('/v1/login', { username: 'plain-user', password: 'plain-user-password' })).token);
    assert.equal((await send('/v1/replicas', { token: userToken })).status, 403);
    assert.equal((await send('/v1/replicas')).status, 401);
    const list = JSON.parse((await send('/v1/replicas', { token: adminToken })).text) as { items: Array<{ id: string; self: boolean; live: boolean; owns: string[]; address: string }> };
    const self = list.items.find((r) => r.self);
    assert.equal(self?.live, true);
    assert.equal(self?.address, `127.0.0.1:${server.port}`);
    assert.deepEqual(list.items.find((r) => r.id === 'r-b')?.owns, ['c-remote']);
  });

  it('never sends a caller\'s token to a listener without a replica certificate, whatever the database says', async () => {
    const answer = await send('/k8s/clusters/c-impostor/api/v1/namespaces', { token: adminToken });
    assert.equal(answer.status, 404, answer.text);
    assert.equal(impostor.seen.length, 0, 'the impostor got no request');
  });
});

describe('the peer relay, when an agent connected to a peer after this replica last read the holders', () => {
  it('reads the holders once more and relays, instead of answering that the cluster is not connected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-relay-late-'));
    // Beats 10 minutes apart: the tunnel row written below is read by the request, not by a beat.
    const config = serverConfigFromFlags({ dataDir: dir, listen: '127.0.0.1:0' }, { DROVER_REPLICA_HEARTBEAT_MS: '600000', DROVER_BOOTSTRAP_PASSWORD: 'relay-test-password' });
    const server = await startServer(config, { logger: silentLogger(), announce: () => undefined });
    const plain = new Agent({ connect: { ca: server.core.tls.caPem } });
    const base = `https://127.0.0.1:${server.port}`;
    const db = server.core.store.db;
    const peerCa = (await loadPeerCredentials(db, server.core.secrets, 'r-standin')).caPem;
    const replicaB = await standIn({ ...(await loadPeerCredentials(db, server.core.secrets, 'r-b')), caPem: peerCa });
    try {
      const login = await request(`${base}/v1/login`, { method: 'POST', dispatcher: plain, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'relay-test-password' }) });
      const token = (await login.body.json() as { token: string }).token;
      const alive = Date.now() + 3600_000;
      await db.insertInto('replicas').values({ id: 'r-b', address: `127.0.0.1:${replicaB.port}`, version: 'test', started_at: 'x', heartbeat_at: alive }).execute();
      await db.insertInto('cluster_tunnels').values({ cluster_id: 'c-late', replica_id: 'r-b', sessions: 1, renewed_at: alive }).execute();
      // Past the 500 ms that reads on a miss are spaced by, counted from the start-up beat.
      await new Promise((r) => setTimeout(r, 600));
      const res = await request(`${base}/k8s/clusters/c-late/api/v1/namespaces`, { dispatcher: plain, headers: { authorization: `Bearer ${token}` } });
      assert.deepEqual({ status: res.statusCode, text: await res.body.text() }, { status: 200, text: 'answered by the other replica' }, 'the first request, with no beat in between');
      assert.equal(replicaB.seen.at(-1)?.url, '/k8s/clusters/c-late/api/v1/namespaces');
    } finally {
      await plain.close();
      await server.close();
      replicaB.server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
