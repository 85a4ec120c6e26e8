/**
 * WatchCache against a real kube-apiserver: it syncs, follows changes, resumes after
 * the connection is cut (cut for real, by destroying the dialed socket), relists on a
 * real 410 Expired and reports what vanished in the gap, and leaks no sockets.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  KubeClient, WatchCache, isResourceExpired, resourcePath, resources,
  type CacheEvent, type ConfigMap, type CustomResourceDefinition, type KubeObject, type Namespace, type WatchEvent, type WatchSource,
} from '../../src/kube/index.ts';
import { sharedControlPlane, type ControlPlaneState } from '../testenv/index.ts';

const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

async function eventually(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A dialer over plain TCP that remembers its sockets, so a test can cut them. */
function trackingDialer(port: number): { dial: () => Promise<Socket>; sockets: Socket[]; open: () => Socket[] } {
  const sockets: Socket[] = [];
  return {
    sockets,
    open: () => sockets.filter((s) => !s.destroyed),
    dial: () => new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      sockets.push(s);
      s.once('error', reject);
    }),
  };
}

describe('WatchCache against a real kube-apiserver', () => {
  let cp: ControlPlaneState;
  let admin: KubeClient;
  let ns: string;
  const cm = (name?: string): string => resourcePath({ ...resources.configmaps, namespace: ns, name });

  before(async () => {
    cp = await sharedControlPlane();
    admin = new KubeClient({ endpoint: { server: cp.url, caPem: cp.caPem, token: cp.adminToken } });
    ns = unique('wc');
    await admin.create<Namespace>('/api/v1/namespaces', { metadata: { name: ns } });
  });

  after(async () => {
    await admin.delete(resourcePath({ ...resources.namespaces, name: ns })).catch(() => undefined);
    await admin.close();
  });

  it('syncs, follows add/update/delete with a label selector, and reads without API calls', async () => {
    await admin.create<ConfigMap>(cm(), { metadata: { name: 'pre', labels: { cache: 'a' } }, data: { v: '0' } });
    await admin.create<ConfigMap>(cm(), { metadata: { name: 'other', labels: { cache: 'b' } } });
    const cache = new WatchCache<ConfigMap>({ source: admin, path: cm(), labelSelector: 'cache=a' });
    const events: string[] = [];
    cache.onEvent((e) => events.push(`${e.type}:${e.object.metadata.name}`));
    const deletes: ConfigMap[] = [];
    cache.onDelete((o) => deletes.push(o));
    cache.start();
    await cache.waitForSync(AbortSignal.timeout(10_000));
    assert.equal(cache.hasSynced, true);
    assert.deepEqual(cache.list().map((c) => c.metadata.name), ['pre']);

    await admin.create<ConfigMap>(cm(), { metadata: { name: 'new', labels: { cache: 'a' } }, data: { v: '1' } });
    await admin.patch(cm('new'), { data: { v: '2' } }, { type: 'merge' });
    await admin.delete(cm('pre'));
    await eventually('the delete', () => events.includes('delete:pre'));
    assert.deepEqual(events, ['add:pre', 'add:new', 'update:new', 'delete:pre']);
    assert.equal(deletes[0]?.data?.v, '0', 'delete carries the final state');
    assert.equal(cache.get(ns, 'new')?.data?.v, '2');
    assert.equal(cache.get(ns, 'other'), undefined, 'the selector keeps other objects out');

    const calls = cache.stats.apiCalls;
    for (let i = 0; i < 1000; i++) cache.get(ns, 'new');
    cache.list();
    assert.equal(cache.stats.apiCalls, calls, 'reads make no API call');
    assert.deepEqual({ lists: cache.stats.lists, watches: cache.stats.watches }, { lists: 1, watches: 1 });
    await cache.close();
    assert.throws(() => cache.get(ns, 'new'), /closed/);
  });

  it('resumes the watch after its connection is cut, without relisting, and leaks no sockets', async () => {
    const tcp = trackingDialer(Number(new URL(cp.url).port));
    const client = new KubeClient({ endpoint: { server: cp.url, caPem: cp.caPem, token: cp.adminToken, dial: tcp.dial } });
    const cache = new WatchCache<ConfigMap>({ source: client, path: cm(), labelSelector: 'cut=yes', backoff: { initialMs: 50, maxMs: 200 } });
    cache.start();
    await cache.waitForSync();
    for (let round = 1; round <= 3; round++) {
      await eventually('the watch to be established', () => cache.isWatching && cache.stats.watches === round);
      await new Promise((r) => setTimeout(r, 100)); // let the watch request reach the apiserver
      for (const s of tcp.open()) s.destroy(); // cut every connection the cache holds
      const name = `after-cut-${round}`;
      await admin.create<ConfigMap>(cm(), { metadata: { name, labels: { cut: 'yes' } } });
      await eventually(`${name} through the resumed watch`, () => cache.get(ns, name) !== undefined);
    }
    const stats = cache.stats;
    assert.equal(stats.lists, 1, 'resumed from the last resourceVersion, no relist');
    assert.equal(stats.resumes, 3);
    assert.equal(stats.watches, 4);
    assert.ok(tcp.open().length <= 2, `${tcp.open().length} sockets still open after 3 cuts`);
    await cache.close();
    await client.close();
    await eventually('all sockets closed', () => tcp.open().length === 0, 5_000);
  });

  it('stops and refuses reads when the client under it is closed, instead of serving stale data', async () => {
    const client = new KubeClient({ endpoint: { server: cp.url, caPem: cp.caPem, token: cp.adminToken } });
    const cache = new WatchCache<ConfigMap>({ source: client, path: cm() }).start();
    await cache.waitForSync();
    await eventually('the watch to open', () => cache.isWatching);
    await client.close();
    await eventually('the cache to stop', () => { try { cache.list(); return false; } catch { return true; } });
    assert.throws(() => cache.get(ns, 'x'), /closed/);
    await cache.close();
  });

  describe('with a custom resource (its watch cache starts when the CRD is created)', () => {
    let group: string;
    let widgets: string;
    before(async () => {
      group = `${randomBytes(4).toString('hex')}.drover.test`;
      await admin.create<CustomResourceDefinition>(resourcePath(resources.customresourcedefinitions), {
        metadata: { name: `widgets.${group}` },
        spec: {
          group, scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
        },
      });
      widgets = resourcePath({ group, version: 'v1', resource: 'widgets', namespace: ns });
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ok = await admin.list(widgets).then(() => true, () => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error('CRD never served');
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    after(async () => {
      await admin.delete(resourcePath({ ...resources.customresourcedefinitions, name: `widgets.${group}` })).catch(() => undefined);
    });
    const widget = (name: string, size: number): KubeObject => ({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name }, size });

    it('the apiserver answers a watch from a too-old resourceVersion with a 410 Expired ERROR event', async () => {
      await admin.create(widgets, widget('w0', 0));
      const events: WatchEvent<KubeObject>[] = [];
      await admin.watch<KubeObject>(widgets, { resourceVersion: '1', timeoutSeconds: 5 }, (e) => { events.push(e); });
      assert.equal(events.length, 1);
      const [event] = events;
      assert.equal(event?.type, 'ERROR');
      assert.equal(event?.type === 'ERROR' ? event.object.code : 0, 410);
      assert.equal(event?.type === 'ERROR' ? event.object.reason : '', 'Expired');
    });

    it('relists on 410 Expired and reports objects that vanished in the gap as deleted, with their last state', async () => {
      await admin.create(widgets, widget('stays', 1));
      await admin.create(widgets, widget('goes', 2));
      // The first watch runs from the list's resourceVersion; every later one is sent from
      // resourceVersion 1, which this CRD's watch cache never had: a genuine 410 from the apiserver.
      let gate: (() => void) | undefined;
      const watchCalls: string[] = [];
      const source: WatchSource = {
        list: (path, options) => admin.list(path, options),
        watch: async (path, options, onEvent) => {
          watchCalls.push(options.resourceVersion ?? '');
          if (watchCalls.length === 1) return admin.watch(path, { ...options, timeoutSeconds: 1 }, onEvent);
          if (watchCalls.length === 2) await new Promise<void>((r) => { gate = r; });
          return admin.watch(path, { ...options, resourceVersion: watchCalls.length === 2 ? '1' : options.resourceVersion }, onEvent);
        },
      };
      const cache = new WatchCache<KubeObject>({ source, path: widgets, backoff: { initialMs: 50, maxMs: 100 } });
      const events: CacheEvent<KubeObject>[] = [];
      cache.onEvent((e) => events.push(e));
      cache.start();
      await cache.waitForSync();
      await eventually('the first watch to end', () => gate !== undefined);
      // The gap: changes the cache cannot see.
      await admin.delete(`${widgets}/goes`);
      await admin.patch(`${widgets}/stays`, { size: 10 }, { type: 'merge' });
      await admin.create(widgets, widget('arrived', 3));
      events.length = 0;
      gate?.();
      await eventually('the relist', () => cache.stats.lists === 2 && events.length >= 3);
      const summary = events.map((e) => `${e.type}:${e.object.metadata.name}`).sort();
      assert.deepEqual(summary, ['add:arrived', 'delete:goes', 'update:stays']);
      const gone = events.find((e) => e.type === 'delete');
      assert.equal(gone?.object.size, 2, 'the delete carries the last known state');
      assert.equal(cache.get(ns, 'stays')?.size, 10);
      assert.equal(cache.stats.expired, 1);
      await eventually('watching again', () => cache.isWatching && watchCalls.length >= 3);
      await admin.create(widgets, widget('later', 4));
      await eventually('later through the new watch', () => cache.get(ns, 'later') !== undefined);
      await cache.close();
    });
  });

  it('waitForSync honours its signal and close; handlers can unsubscribe; start after close fails', async () => {
    const never: WatchSource = {
      list: (_path, options) => new Promise((_resolve, reject) => {
        options?.signal?.addEventListener('abort', () => reject(options.signal?.reason as Error), { once: true });
      }),
      watch: () => Promise.resolve(),
    };
    const cache = new WatchCache<KubeObject>({ source: never, path: '/api/v1/configmaps' }).start();
    const gaveUp = new AbortController();
    const timer = setTimeout(() => gaveUp.abort(new Error('gave up waiting')), 50); // a ref'd timer: AbortSignal.timeout would let the loop go idle
    await assert.rejects(cache.waitForSync(gaveUp.signal), /gave up waiting/);
    clearTimeout(timer);
    const pending = cache.waitForSync();
    const off = cache.onAdd(() => undefined);
    off();
    await cache.close();
    await assert.rejects(pending, /closed/);
    assert.throws(() => cache.start(), /closed/);
    assert.equal(isResourceExpired(new Error('x')), false);
  });
});
