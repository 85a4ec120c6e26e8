/**
 * The audit trail end to end: a real server writing its audit log, a real agent and
 * tunnel, the machine's kubectl, and a kube-apiserver that writes its own audit log,
 * so the Audit-ID Drover sends can be found in the cluster's log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { kubectlOk, startPrivateControlPlane, type ControlPlaneState, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, adminPassword, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call } from './identity-support.ts';
import type { AuditEvent } from '../../src/audit/index.ts';

const suffix = (): string => randomBytes(3).toString('hex');
const readEvents = (file: string): AuditEvent[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AuditEvent) : []);

describe('the audit trail', () => {
  let drover: Drover;
  let cp: ControlPlaneState;
  let privateCp: PrivateControlPlane;
  let cluster: RegisteredCluster;
  let adminId: string;
  let kubeconfig: string;
  const dir = mkdtempSync(join(tmpdir(), 'drover-audit-'));
  const auditLog = join(dir, 'audit.log');
  /** The first events the predicate accepts, once they are in the log. */
  const find = (what: string, accept: (e: AuditEvent) => boolean): Promise<AuditEvent> =>
    eventually(what, () => readEvents(auditLog).find(accept), 30_000);

  before(async () => {
    privateCp = await startPrivateControlPlane({ auditLog: true });
    cp = privateCp.state;
    drover = await startDrover({ serverArgs: ['--audit-log', auditLog] });
    cluster = await drover.registerCluster(`audit-${suffix()}`, cp);
    adminId = (JSON.parse(await drover.cli('whoami', '-o', 'json')) as { id: string }).id;
    kubeconfig = join(drover.dir, 'admin.kubeconfig');
    await drover.cli('kubeconfig', cluster.name, '--file', kubeconfig);
  });
  after(async () => {
    await drover?.stop();
    await privateCp?.stop();
  });

  it('records a proxied request as an audit.k8s.io/v1 Event, with the same auditID in the cluster\'s own audit log', async () => {
    const name = `cm-${suffix()}`;
    await kubectlOk(['create', 'configmap', name, '-n', 'default', '--from-literal=a=b'], { kubeconfig });
    // At Metadata no body is read, so a create's event names no object (the URL does not): the
    // cluster's own event, found by the same auditID, does.
    const event = await find('the create event', (e) => e.verb === 'create' && e.objectRef?.resource === 'configmaps');
    assert.equal(event.kind, 'Event');
    assert.equal(event.apiVersion, 'audit.k8s.io/v1');
    assert.equal(event.level, 'Metadata');
    assert.equal(event.stage, 'ResponseComplete');
    assert.deepEqual(event.objectRef, { resource: 'configmaps', namespace: 'default', apiVersion: 'v1' });
    assert.equal(event.user.username, adminId);
    assert.deepEqual(event.user.extra?.username, ['admin']);
    assert.ok(event.user.groups?.includes('system:authenticated'));
    assert.equal(event.responseStatus?.code, 201);
    assert.equal(event.annotations?.['drover.dev/cluster-id'], cluster.id);
    assert.match(event.userAgent ?? '', /^kubectl/);
    assert.deepEqual(event.sourceIPs, ['127.0.0.1']);
    assert.match(event.requestReceivedTimestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    assert.ok(event.stageTimestamp >= event.requestReceivedTimestamp);
    assert.equal(event.requestObject, undefined, 'Metadata records no body');
    // kube-apiserver took the Audit-ID header as its own auditID.
    const downstream = await eventually('the same auditID in kube-apiserver\'s audit log', () =>
      readEvents(cp.auditLogPath ?? '').find((e) => e.auditID === event.auditID && e.stage === 'ResponseComplete'), 30_000);
    assert.equal(downstream.verb, 'create');
    assert.equal(downstream.objectRef?.name, name);
    assert.equal(downstream.impersonatedUser?.username, adminId);
  });

  it('reads verbs as kube-apiserver does: list, get, and a watch with its ResponseStarted', async () => {
    await kubectlOk(['get', 'namespaces'], { kubeconfig });
    await find('the list', (e) => e.verb === 'list' && e.objectRef?.resource === 'namespaces' && e.user.username === adminId);
    await kubectlOk(['get', 'namespace', 'default'], { kubeconfig });
    await find('the get', (e) => e.verb === 'get' && e.objectRef?.resource === 'namespaces' && e.objectRef.name === 'default');
    await kubectlOk(['get', 'configmaps', '-n', 'default', '--watch', '--request-timeout=2s'], { kubeconfig }).catch(() => undefined);
    const started = await find('a watch that started', (e) => e.verb === 'watch' && e.stage === 'ResponseStarted' && e.objectRef?.resource === 'configmaps');
    await find('the same watch completing', (e) => e.auditID === started.auditID && e.stage === 'ResponseComplete');
  });

  it('records a refusal before authentication as system:anonymous, with its status', async () => {
    const res = await call(drover.server, 'GET', `/k8s/clusters/${cluster.id}/api/v1/namespaces`, { token: 'token-nope:nothing' });
    assert.equal(res.status, 401);
    const event = await find('the refused request', (e) => e.user.username === 'system:anonymous' && e.requestURI === `/k8s/clusters/${cluster.id}/api/v1/namespaces`);
    assert.equal(event.responseStatus?.code, 401);
    assert.equal(event.verb, 'list');
  });

  it('records /v1 logins, failed and successful, and token changes, but not plain reads', async () => {
    const failed = await call(drover.server, 'POST', '/v1/login', { body: { username: 'admin', password: 'wrong-password-here' } });
    assert.equal(failed.status, 401);
    const failure = await find('the failed login', (e) => e.requestURI === '/v1/login' && e.responseStatus?.code === 401);
    assert.equal(failure.user.username, 'system:anonymous');
    assert.deepEqual(failure.user.extra?.username, ['admin']);
    assert.equal(failure.verb, 'post');
    const ok = await call(drover.server, 'POST', '/v1/login', { body: { username: 'admin', password: adminPassword } });
    assert.equal(ok.status, 200);
    const success = await find('the login', (e) => e.requestURI === '/v1/login' && e.responseStatus?.code === 200);
    assert.equal(success.user.username, adminId);
    await drover.cli('tokens', 'create', '--description', 'audit-test');
    await find('the token create', (e) => e.requestURI.startsWith('/v1/tokens') && e.verb === 'post' && e.user.username === adminId);
    const before = readEvents(auditLog).length;
    await drover.cli('whoami');
    await drover.cli('users', 'list');
    const marker = await call(drover.server, 'POST', '/v1/login', { body: { username: `marker-${suffix()}`, password: 'x'.repeat(12) } });
    assert.equal(marker.status, 401);
    await find('the marker', (e) => e.requestURI === '/v1/login' && (e.user.extra?.username?.[0] ?? '').startsWith('marker-'));
    const between = readEvents(auditLog).slice(before).filter((e) => e.requestURI.startsWith('/v1/') && e.verb === 'get');
    assert.deepEqual(between, [], 'reads are not audited');
  });
});
