/**
 * The proxy's forwarding core against a real kube-apiserver, reached by a direct
 * dial: streaming without buffering, bodies, redirects, failed upgrades closing
 * both connections. The full chain (authentication, impersonation, tunnel) has its
 * own suite; here a tiny server puts scrubbing and forwarding together with the
 * admin token as the egress identity.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { sharedControlPlane, kubectlOk, type ControlPlaneState } from '../testenv/index.ts';
import { scrubCallerHeaders } from '../../src/proxy/caller-headers.ts';
import { assertOnlyOurIdentity, forwardRequest, rewriteLocation } from '../../src/proxy/forward.ts';
import { forwardUpgrade } from '../../src/proxy/upgrade.ts';
import { UpstreamPools, type UpstreamEndpoint } from '../../src/proxy/upstream.ts';
import { writeKubeStatus } from '../../src/proxy/kube-status.ts';

describe('proxy forwarding to a real kube-apiserver', () => {
  let cp: ControlPlaneState;
  let server: Server;
  let base: string;
  let dials = 0;
  const pools = new UpstreamPools();

  before(async () => {
    cp = await sharedControlPlane();
    const url = new URL(cp.url);
    const endpoint: UpstreamEndpoint = {
      url, caPem: cp.caPem,
      dial: () => new Promise((resolve, reject) => {
        dials++;
        const s = netConnect(Number(url.port), url.hostname, () => resolve(s));
        s.once('error', reject);
      }),
    };
    const identity: Array<[string, string]> = [['authorization', `Bearer ${cp.adminToken}`]];
    const ours = new Set(['authorization']);
    server = createServer((req, res) => {
      try {
        const scrubbed = scrubCallerHeaders(req.rawHeaders);
        const headers = [...scrubbed.forward, ...identity];
        assertOnlyOurIdentity(headers, ours);
        void forwardRequest({
          req, res, pool: pools.get('c-test', endpoint), clusterId: 'c-test', downstreamPath: req.url ?? '/', headers,
          proxyPrefix: '/k8s/clusters/c-test', upstreamOrigin: url.origin,
        });
      } catch (error) {
        writeKubeStatus(res, error);
      }
    });
    server.on('upgrade', (req, socket, head) => {
      const scrubbed = scrubCallerHeaders(req.rawHeaders);
      void forwardUpgrade({
        req, socket, head, endpoint, clusterId: 'c-test', downstreamPath: req.url ?? '/', headers: [...scrubbed.forward, ...identity],
        protocol: scrubbed.upgrade ?? 'websocket', proxyPrefix: '/k8s/clusters/c-test',
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    await pools.close();
  });

  it('answers a GET exactly as the apiserver does, reusing its connection', async () => {
    const first = await fetch(`${base}/version`);
    assert.equal(first.status, 200);
    assert.equal(((await first.json()) as { gitVersion: string }).gitVersion, cp.version);
    const before = dials;
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${base}/api/v1/namespaces/default`)).status, 200);
    assert.equal(dials, before, 'kept-alive connections are reused, not dialled per request');
  });

  it('replaces the caller\'s Authorization and impersonation with its own identity', async () => {
    const res = await fetch(`${base}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json', authorization: 'Bearer forged',
        'impersonate-user': 'system:anonymous', connection: 'impersonate-user',
      },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    });
    assert.equal(res.status, 201);
    const review = (await res.json()) as { status: { userInfo: { username: string } } };
    assert.equal(review.status.userInfo.username, 'admin');
  });

  it('streams watch events as they happen, without buffering', async () => {
    const ns = `watch-${randomBytes(3).toString('hex')}`;
    await kubectlOk(['create', 'namespace', ns], { kubeconfig: cp.kubeconfigPath });
    const abort = new AbortController();
    const res = await fetch(`${base}/api/v1/namespaces/${ns}/configmaps?watch=true`, { signal: abort.signal });
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await kubectlOk(['create', 'configmap', 'first', '-n', ns], { kubeconfig: cp.kubeconfigPath });
    let text = '';
    while (!text.includes('"first"')) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the watch ended early');
      text += Buffer.from(value).toString();
    }
    assert.match(text, /"type":"ADDED"/);
    abort.abort();
  });

  it('passes request bodies and downstream errors through as Kubernetes Status', async () => {
    const name = `cm-${randomBytes(3).toString('hex')}`;
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { big: 'x'.repeat(200_000) } });
    const created = await fetch(`${base}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(created.status, 201);
    const again = await fetch(`${base}/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { reason: string }).reason, 'AlreadyExists');
  });

  it('relays a failed upgrade and closes the connection instead of reusing it', async () => {
    const socket = netConnect(Number(new URL(base).port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write([
      'POST /api/v1/namespaces/default/pods/no-such-pod/exec?command=ls&stdout=true HTTP/1.1',
      'Host: x', 'Connection: Upgrade', 'Upgrade: SPDY/3.1', 'X-Stream-Protocol-Version: v4.channel.k8s.io', '', '',
    ].join('\r\n'));
    let answer = '';
    socket.on('data', (c: Buffer) => { answer += c.toString(); });
    await new Promise((r) => socket.once('close', r));
    assert.match(answer, /^HTTP\/1\.1 404 /);
    assert.match(answer, /connection: close/i);
    assert.match(answer, /pods \\"no-such-pod\\" not found|pods "no-such-pod" not found/);
  });

  it('answers 502 as a Kubernetes Status when the cluster cannot be reached', async () => {
    const deadPools = new UpstreamPools();
    const dead: UpstreamEndpoint = { url: new URL(cp.url), caPem: cp.caPem, dial: () => Promise.reject(new Error('agent disconnected')) };
    const s = createServer((req, res) => {
      void forwardRequest({ req, res, pool: deadPools.get('c-dead', dead), clusterId: 'c-dead', downstreamPath: '/version', headers: [], proxyPrefix: '/k8s/clusters/c-dead', upstreamOrigin: cp.url });
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const res = await new Promise<{ status: number; body: string }>((resolve) => {
      request(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => { body += c.toString(); });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      }).end();
    });
    s.close();
    await deadPools.close();
    assert.equal(res.status, 502);
    const status = JSON.parse(res.body) as { kind: string; message: string };
    assert.equal(status.kind, 'Status');
    assert.match(status.message, /agent disconnected/);
  });
});

describe('rewriteLocation', () => {
  const input = { proxyPrefix: '/k8s/clusters/c-1', upstreamOrigin: 'https://10.43.0.1:443', downstreamPath: '/api/v1/namespaces/ns/pods/web/proxy/app/?page=1' };
  it('maps the apiserver\'s own locations onto the proxy', () => {
    assert.equal(rewriteLocation('/api/v1/namespaces?x=1', input), '/k8s/clusters/c-1/api/v1/namespaces?x=1');
    assert.equal(rewriteLocation('https://10.43.0.1:443/apis', input), '/k8s/clusters/c-1/apis');
  });
  it('resolves a relative location against the request it answers, as the client would', () => {
    assert.equal(rewriteLocation('login', input), '/k8s/clusters/c-1/api/v1/namespaces/ns/pods/web/proxy/app/login');
    assert.equal(rewriteLocation('../other/', input), '/k8s/clusters/c-1/api/v1/namespaces/ns/pods/web/proxy/other/');
    assert.equal(rewriteLocation('?page=2', input), '/k8s/clusters/c-1/api/v1/namespaces/ns/pods/web/proxy/app/?page=2');
  });
  it('cannot be climbed out of the cluster prefix with dot segments', () => {
    assert.equal(rewriteLocation('../../../../../../../../v1/tokens', input), '/k8s/clusters/c-1/v1/tokens');
    assert.equal(rewriteLocation('/%2e%2e/%2e%2e/v1/users', input), '/k8s/clusters/c-1/v1/users');
  });
  it('drops locations on any other host, scheme or port', () => {
    for (const l of ['https://evil.example/x', 'http://10.43.0.1:443/x', 'https://10.43.0.1:6443/x', '//evil.example/x', 'javascript:alert(1)']) {
      assert.equal(rewriteLocation(l, input), undefined, l);
    }
  });
});
