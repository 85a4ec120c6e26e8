import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { createSecretBox, openStore, type Store } from '../store/index.ts';
import { DroverError } from '../errors/index.ts';
import { ClusterService } from './cluster-service.ts';
import { registrationTokenDigest } from './registration-token.ts';
import { selfSignedCaPem } from '../testing/index.ts';

const agentRequest = (headers: Record<string, string | string[]>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
const refusedWith = (status: number, code?: string) => (e: unknown) =>
  e instanceof DroverError && e.status === status && (code === undefined || e.code === code);

describe('ClusterService', () => {
  let dir: string;
  let store: Store;
  let now = new Date('2026-11-22T12:00:00Z');
  let clusters: ClusterService;
  const secrets = createSecretBox(randomBytes(32));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cluster-service-'));
    store = await openStore({ dataDir: dir });
    clusters = new ClusterService({ db: store.db, secrets, now: () => now });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates pending clusters with unique names and DNS-label ids', async () => {
    const { cluster, registrationToken } = await clusters.create({ name: 'prod-eu' });
    assert.match(cluster.id, /^c-[a-z0-9]{8}$/);
    assert.equal(cluster.state, 'pending');
    assert.equal(registrationToken.length, 54);
    await assert.rejects(clusters.create({ name: 'prod-eu' }), refusedWith(409));
    for (const bad of ['Prod', 'a_b', '-x', 'x'.repeat(64), '']) {
      await assert.rejects(clusters.create({ name: bad }), refusedWith(400), bad);
    }
  });

  it('binds an agent to the cluster of its token, whatever else it claims', async () => {
    const { cluster, registrationToken } = await clusters.create({ name: 'bind-test' });
    const other = await clusters.create({ name: 'bind-other' });
    const identity = await clusters.authenticateAgent(agentRequest({
      'x-drover-registration-token': registrationToken, 'x-drover-cluster-id': other.cluster.id,
    }));
    const credential = registrationTokenDigest(registrationToken);
    assert.deepEqual(identity, { clusterId: cluster.id, kind: 'cluster', credential });
    assert.deepEqual(await clusters.authenticateAgent(agentRequest({
      'x-drover-registration-token': registrationToken, 'x-drover-agent-kind': 'node', 'x-drover-node-name': 'worker-1',
    })), { clusterId: cluster.id, kind: 'node', nodeName: 'worker-1', credential });
  });

  it('accepts a connected agent\'s token until a rotation\'s grace ends, and an expired one still (its lifetime bounds new registrations)', async () => {
    const { cluster, registrationToken } = await clusters.create({ name: 'accept-test' });
    const first = registrationTokenDigest(registrationToken);
    const accepted = async (): Promise<string[]> => [...(await clusters.acceptedCredentials([cluster.id, 'c-gone'])).get(cluster.id) ?? []];
    assert.deepEqual(await accepted(), [first]);
    assert.equal((await clusters.acceptedCredentials(['c-gone'])).has('c-gone'), false, 'a deleted cluster accepts nothing');
    const second = registrationTokenDigest(await clusters.rotateToken(cluster.id, { graceMs: 60_000 }));
    assert.deepEqual((await accepted()).sort(), [first, second].sort(), 'the old token during its grace');
    const third = registrationTokenDigest(await clusters.rotateToken(cluster.id, { graceMs: 0, tokenTtlMs: 1 }));
    assert.deepEqual(await accepted(), [third], 'without grace, only the new one, even once it expires');
  });

  it('refuses missing, repeated, unknown and malformed agent credentials', async () => {
    const { registrationToken } = await clusters.create({ name: 'refuse-test' });
    const cases: Array<[Record<string, string | string[]>, number]> = [
      [{}, 401],
      [{ 'x-drover-registration-token': [registrationToken, registrationToken] }, 401],
      [{ 'x-drover-registration-token': 'A'.repeat(54) }, 401],
      [{ 'x-drover-registration-token': registrationToken, 'x-drover-agent-kind': 'admin' }, 400],
      [{ 'x-drover-registration-token': registrationToken, 'x-drover-agent-kind': 'node' }, 400],
      [{ 'x-drover-registration-token': registrationToken, 'x-drover-agent-kind': 'node', 'x-drover-node-name': '../etc' }, 400],
    ];
    for (const [headers, status] of cases) {
      await assert.rejects(clusters.authenticateAgent(agentRequest(headers)), refusedWith(status), JSON.stringify(headers));
    }
  });

  it('stops accepting a token after its expiry', async () => {
    const { registrationToken } = await clusters.create({ name: 'expiring', tokenTtlMs: 60_000 });
    await clusters.clusterForToken(registrationToken);
    now = new Date(now.getTime() + 60_000);
    await assert.rejects(clusters.clusterForToken(registrationToken), refusedWith(401, 'DRV_ERR_TOKEN_EXPIRED'));
    await assert.rejects(clusters.clusterForToken(registrationToken), /expired at .*drover clusters update expiring --rotate-token/);
  });

  it('tells an agent with a rotated-out token to use the new token, not to rotate again', async () => {
    const { registrationToken: old } = await clusters.create({ name: 'rotated-out' });
    await clusters.rotateToken('rotated-out', { graceMs: 0 });
    await assert.rejects(clusters.clusterForToken(old), (error: unknown) => {
      assert.ok(error instanceof DroverError && error.status === 401);
      assert.match(error.message, /replaced by a rotation.*current token.*drover clusters get rotated-out --registration/);
      assert.doesNotMatch(error.message, /--rotate-token/);
      return true;
    });
    await assert.rejects(clusters.clusterForToken('B'.repeat(54)), /not known to the server: its cluster was deleted/);
  });

  it('keeps the old token for the grace period after rotation, then refuses it', async () => {
    const { cluster, registrationToken: old } = await clusters.create({ name: 'rotating' });
    const fresh = await clusters.rotateToken('rotating', { graceMs: 30_000 });
    assert.notEqual(fresh, old);
    assert.equal((await clusters.clusterForToken(old)).id, cluster.id);
    assert.equal((await clusters.clusterForToken(fresh)).id, cluster.id);
    assert.equal(await clusters.registrationToken(cluster.id), fresh);
    now = new Date(now.getTime() + 30_000);
    await assert.rejects(clusters.clusterForToken(old), refusedWith(401));
    assert.equal((await clusters.clusterForToken(fresh)).id, cluster.id);
  });

  it('pins the first registration, keeps the credential encrypted, and forgets both on delete', async () => {
    const { cluster } = await clusters.create({ name: 'with-access' });
    assert.equal(await clusters.access(cluster.id), undefined);
    assert.equal(await clusters.pin(cluster.id), undefined);
    const caPem = selfSignedCaPem();
    const info = { apiServer: '10.43.0.1:443', caPem, token: 'sa-token-0123456789abcdef' };
    assert.equal(await clusters.pinFirst(cluster.id, { ...info, account: 'system:serviceaccount:cattle-system:cattle' }, undefined), true);
    await clusters.recordCredential(cluster.id, info.token);
    assert.deepEqual(await clusters.access(cluster.id), info);
    const pin = await clusters.pin(cluster.id);
    assert.equal(pin?.account, 'system:serviceaccount:cattle-system:cattle');
    assert.match(pin?.caSha256 ?? '', /^[0-9a-f]{64}$/);
    // A second "first" registration (another agent racing, or an impostor) cannot re-pin.
    assert.equal(await clusters.pinFirst(cluster.id, { apiServer: '10.0.0.9:6443', caPem: selfSignedCaPem(), account: 'system:anonymous' }, undefined), false);
    assert.equal(await clusters.pinFirst(cluster.id, { apiServer: '10.0.0.9:6443', caPem: selfSignedCaPem(), account: 'system:anonymous' }, pin), false);
    assert.equal((await clusters.get(cluster.id)).apiServer, '10.43.0.1:443');
    const rows = await store.db.selectFrom('secrets').select(['name', 'ciphertext']).where('name', 'like', `cluster/${cluster.id}/%`).execute();
    assert.equal(rows.length, 2);
    for (const row of rows) assert.ok(!row.ciphertext.includes(info.token) && !row.ciphertext.includes('sa-token'), row.name);
    await clusters.delete('with-access');
    await assert.rejects(clusters.get(cluster.id), refusedWith(404));
    const left = await store.db.selectFrom('secrets').select('name').where('name', 'like', `cluster/${cluster.id}/%`).execute();
    assert.deepEqual(left, []);
  });

  it('shows a differing report and accepts exactly the one shown; a token rotation clears it', async () => {
    const { cluster } = await clusters.create({ name: 'conflicted' });
    const caPem = selfSignedCaPem();
    await clusters.pinFirst(cluster.id, { apiServer: '10.43.0.1:443', caPem, account: 'system:serviceaccount:cattle-system:cattle' }, undefined);
    await assert.rejects(clusters.acceptConflict('conflicted', 'whatever'), refusedWith(409));
    const newCa = selfSignedCaPem();
    const report = (apiServer: string): Parameters<ClusterService['recordConflict']>[1] => ({
      apiServer, caPem: newCa, caSha256: 'ab'.repeat(32), account: 'system:serviceaccount:cattle-system:cattle', differences: ['address'],
    });
    const first = await clusters.recordConflict(cluster.id, report('10.9.9.9:6443'));
    assert.deepEqual((await clusters.get(cluster.id)).apiServerConflict, first);
    const second = await clusters.recordConflict(cluster.id, report('10.8.8.8:6443'));
    assert.notEqual(second.digest, first.digest);
    // The admin saw the first; a newer report is never accepted unseen.
    await assert.rejects(clusters.acceptConflict('conflicted', first.digest), refusedWith(409));
    const accepted = await clusters.acceptConflict('conflicted', second.digest);
    assert.equal(accepted.apiServer, '10.8.8.8:6443');
    assert.equal(accepted.apiServerConflict, undefined);
    assert.equal((await clusters.pin(cluster.id))?.caPem, newCa);
    await clusters.recordConflict(cluster.id, report('10.7.7.7:6443'));
    await clusters.rotateToken('conflicted', { graceMs: 0 });
    assert.equal((await clusters.get(cluster.id)).apiServerConflict, undefined);
  });

  it('records status updates field by field', async () => {
    const { cluster } = await clusters.create({ name: 'status' });
    await clusters.updateStatus(cluster.id, { state: 'active', stateReason: '', kubernetesVersion: 'v1.36.3', tunnel: 'node', nodeCount: 3, capacity: { cpu: '6', memory: '12Gi', pods: '330' } });
    await clusters.updateStatus(cluster.id, { tunnel: 'cluster' });
    const got = await clusters.get('status');
    assert.equal(got.state, 'active');
    assert.equal(got.tunnel, 'cluster');
    assert.equal(got.nodeCount, 3);
    assert.deepEqual(got.capacity, { cpu: '6', memory: '12Gi', pods: '330' });
  });
});
