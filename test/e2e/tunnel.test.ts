/**
 * The tunnel against a real kube-apiserver: TLS runs end to end through an agent's
 * stream (the agent relays ciphertext only), for a plain GET, an authenticated LIST
 * and a long watch that streams events as they happen.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from 'undici';
import { silentLogger } from '../../src/logging/index.ts';
import { allowAddresses } from '../../src/addresses/index.ts';
import { TunnelClient } from '../../src/tunnel/index.ts';
import { connectorFor, tlsOverDial } from '../../src/kube/index.ts';
import { startTunnelHarness, type TunnelHarness } from '../../src/testing/index.ts';
import { kubeRequest, sharedControlPlane, type ControlPlaneState } from '../testenv/index.ts';

describe('the tunnel to a real kube-apiserver', { timeout: 120_000 }, () => {
  let cp: ControlPlaneState;
  let harness: TunnelHarness;
  let agent: TunnelClient;
  let http: Client;
  let apiserver: string;
  const cluster = `c-${randomBytes(4).toString('hex')}`;
  const ns = `tunnel-${randomBytes(4).toString('hex')}`;
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${cp.adminToken}` });

  before(async () => {
    cp = await sharedControlPlane();
    apiserver = new URL(cp.url).host;
    harness = await startTunnelHarness();
    agent = new TunnelClient({
      serverUrl: harness.url, ca: harness.pki.caPem, headers: () => ({ 'x-test-token': `cluster:${cluster}` }),
      allow: allowAddresses([apiserver]), logger: silentLogger(), backoff: { initialMs: 100, maxMs: 1000 },
    });
    const up = new Promise<void>((resolve) => harness.tunnel.on('session-up', () => resolve()));
    agent.start();
    await up;
    // The KubeClient's connector: TLS to the apiserver over a tunnel stream, verified against its CA.
    http = new Client(cp.url, {
      connect: connectorFor({ server: cp.url, caPem: cp.caPem, dial: (host, port, signal) => harness.tunnel.dial(cluster, `${host}:${port}`, signal ? { signal } : {}) }, 30_000),
    });
  });

  after(async () => {
    await http.close();
    await agent.close();
    await harness.stop();
    await kubeRequest({ url: cp.url, caPem: cp.caPem, token: cp.adminToken }, 'DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  });

  it('answers /version through the tunnel with the same version as a direct call', async () => {
    const res = await http.request({ method: 'GET', path: '/version' });
    assert.equal(res.statusCode, 200);
    const version = await res.body.json() as { gitVersion: string };
    assert.equal(version.gitVersion, `v${cp.version}`.replace(/^vv/, 'v'));
  });

  it('lists namespaces with the admin token, and refuses without it', async () => {
    const ok = await http.request({ method: 'GET', path: '/api/v1/namespaces', headers: auth() });
    assert.equal(ok.statusCode, 200);
    const list = await ok.body.json() as { items: { metadata: { name: string } }[] };
    assert.ok(list.items.some((n) => n.metadata.name === 'default'));
    const anonymous = await http.request({ method: 'GET', path: '/api/v1/namespaces' });
    await anonymous.body.dump();
    assert.ok([401, 403].includes(anonymous.statusCode), `got ${anonymous.statusCode}`);
  });

  it('streams a long watch as objects are created', async () => {
    const create = await http.request({
      method: 'POST', path: '/api/v1/namespaces', headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: ns } }),
    });
    await create.body.dump();
    assert.equal(create.statusCode, 201);
    const watch = await http.request({ method: 'GET', path: `/api/v1/namespaces/${ns}/configmaps?watch=1&timeoutSeconds=60&labelSelector=drover-test%3Dwatch`, headers: auth() });
    assert.equal(watch.statusCode, 200);
    const seen: string[] = [];
    const done = (async () => {
      let buffered = '';
      for await (const chunk of watch.body) {
        buffered += (chunk as Buffer).toString();
        for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
          const event = JSON.parse(buffered.slice(0, i)) as { type: string; object: { metadata: { name: string } } };
          buffered = buffered.slice(i + 1);
          if (event.type === 'ADDED') seen.push(event.object.metadata.name);
          if (seen.length === 3) return;
        }
      }
    })();
    const direct = { url: cp.url, caPem: cp.caPem, token: cp.adminToken };
    for (const name of ['one', 'two', 'three']) {
      const res = await kubeRequest(direct, 'POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name, labels: { 'drover-test': 'watch' } } });
      assert.equal(res.status, 201);
      await new Promise((r) => setTimeout(r, 300)); // the events arrive while the watch stays open
    }
    await done;
    watch.body.destroy();
    assert.deepEqual(seen, ['one', 'two', 'three']);
  });

  it('refuses to dial anything but the apiserver address on the allow-list', async () => {
    const etcd = new URL(cp.etcdUrl).host;
    await assert.rejects(harness.tunnel.dial(cluster, etcd), { code: 'DRV_ERR_CLUSTER_UNAVAILABLE' });
  });

  it('fails TLS when the apiserver certificate does not match the CA given', async () => {
    await assert.rejects(tlsOverDial({ dial: (signal) => harness.tunnel.dial(cluster, apiserver, signal ? { signal } : {}), host: '127.0.0.1', caPem: harness.pki.caPem }), /certificate/);
  });
});
