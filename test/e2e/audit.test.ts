/**
 * The audit trail end to end: a real server writing its audit log, a real agent and
 * tunnel, the machine's kubectl, and a kube-apiserver that writes its own audit log,
 * so the Audit-ID Drover sends can be found in the cluster's log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { kubectl, kubectlOk, startPrivateControlPlane, startTestNode, type ControlPlaneState, type PrivateControlPlane, type TestNode } from '../testenv/index.ts';
import { spawn } from 'node:child_process';
import SQLite from 'better-sqlite3';
import { eventually, startDrover, adminPassword, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call } from './identity-support.ts';
import { ensureUiBuilt, launchBrowser } from '../testenv/browser.ts';
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
  let node: TestNode;
  const dir = mkdtempSync(join(tmpdir(), 'drover-audit-'));
  const auditLog = join(dir, 'audit.log');
  const policyFile = join(dir, 'policy.yaml');
  // ConfigMaps in default at Metadata; everything else at the most revealing level, where redaction must hold.
  writeFileSync(policyFile, [
    'apiVersion: audit.k8s.io/v1', 'kind: Policy', 'rules:',
    '- level: Metadata', '  namespaces: ["default"]', '  resources: [{group: "", resources: ["configmaps"]}]',
    '- level: RequestResponse', '',
  ].join('\n'));
  /** The first events the predicate accepts, once they are in the log. */
  const find = (what: string, accept: (e: AuditEvent) => boolean): Promise<AuditEvent> =>
    eventually(what, () => readEvents(auditLog).find(accept), 30_000);

  before(async () => {
    privateCp = await startPrivateControlPlane({ auditLog: true });
    cp = privateCp.state;
    [drover, node] = await Promise.all([startDrover({ serverArgs: ['--audit-log', auditLog, '--audit-policy', policyFile] }), startTestNode(cp)]);
    cluster = await drover.registerCluster(`audit-${suffix()}`, cp);
    adminId = (JSON.parse(await drover.cli('whoami', '-o', 'json')) as { id: string }).id;
    kubeconfig = join(drover.dir, 'admin.kubeconfig');
    await drover.cli('kubeconfig', cluster.name, '--file', kubeconfig);
    // The admin's cluster-admin binding downstream is written by the reconciler shortly after registration.
    await eventually('the admin to act in the cluster', async () =>
      ((await kubectl(['auth', 'can-i', 'create', 'secrets', '-n', 'default'], { kubeconfig })).stdout.trim() === 'yes' ? true : undefined), 60_000);
  });
  after(async () => {
    await drover?.stop();
    await node?.stop();
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

  it('records a browser console\'s line without the values it carried; the console cannot read the server\'s key', async () => {
    const token = drover.tokenOf('admin');
    const opened = await call(drover.server, 'POST', `/v1/clusters/${cluster.id}/shell`, { token });
    assert.equal(opened.status, 201, opened.text);
    const run = (command: string) => call(drover.server, 'POST', `/v1/clusters/${cluster.id}/shell/${(opened.json() as { id: string }).id}/run`, { token, body: { command } });
    const secret = `S3cr3t-${suffix()}`;
    const created = await run(`kubectl create secret generic db-${suffix()} -n default --from-literal=password=${secret} --dry-run=client -o name`);
    assert.equal(created.status, 200, created.text);
    assert.equal((created.json() as { exitCode: number }).exitCode, 0, created.text);
    const event = await find('the console line', (e) => e.requestURI.endsWith('/run') && JSON.stringify(e.requestObject ?? {}).includes('db-'));
    assert.equal(event.level, 'RequestResponse');
    assert.match((event.requestObject as { command: string }).command, /^kubectl create secret generic db-\w+ -n default --from-literal=REDACTED --dry-run=client -o name$/);
    assert.doesNotMatch(readFileSync(auditLog, 'utf8'), new RegExp(secret));
    // The server's own files: a TLS secret printed from its CA key would hand out the key every agent and CLI trusts.
    const serverDir = join(drover.dir, 'server');
    const stolen = await run(`kubectl create secret tls x --cert=${serverDir}/ca.crt --key=${serverDir}/ca.key --dry-run=client -o yaml`);
    assert.equal(stolen.status, 422, stolen.text);
    assert.match(stolen.text, /--cert/);
    const dump = join(dir, 'dump');
    const dumped = await run(`kubectl cluster-info dump --output-directory=${dump} --namespaces=default`);
    assert.equal(dumped.status, 422, dumped.text);
    assert.equal(existsSync(dump), false, 'nothing was written on the server');
  });

  it('searches recent events from the store: drover audit list with filters, admins only', async () => {
    const name = `search-${suffix()}`;
    await kubectlOk(['create', 'namespace', name], { kubeconfig });
    // kubectl creates with a protobuf body (not recorded), so the object is named by a get.
    await kubectlOk(['get', 'namespace', name], { kubeconfig });
    const listed = await eventually('the namespace get in the store', async () => {
      const out = await drover.cli('audit', 'list', '--user', 'admin', '--cluster', cluster.name, '--verb', 'get', '--since', '1h', '-o', 'json');
      const events = JSON.parse(out) as AuditEvent[];
      return events.some((e) => e.objectRef?.name === name) ? events : undefined;
    }, 30_000);
    assert.ok(listed.every((e) => e.verb === 'get' && e.user.username === adminId && e.annotations?.['drover.dev/cluster-id'] === cluster.id));
    const table = await drover.cli('audit', 'list', '--cluster', cluster.id, '--verb', 'get');
    assert.match(table, /TIME\s+USER\s+CLUSTER\s+VERB\s+TARGET\s+CODE/i);
    assert.match(table, new RegExp(`namespaces ${name}`));
    assert.deepEqual(JSON.parse(await drover.cli('audit', 'list', '--user', 'nobody-at-all', '-o', 'json')), []);
    const bad = await drover.run('audit', 'list', '--since', 'yesterday');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--since/);
    await drover.cli('users', 'create', 'auditor', '--password', 'auditor-password-long');
    const login = await call(drover.server, 'POST', '/v1/login', { body: { username: 'auditor', password: 'auditor-password-long' } });
    const refused = await call(drover.server, 'GET', '/v1/audit', { token: (login.json() as { token: string }).token });
    assert.equal(refused.status, 403);
  });

  describe('redaction, tried from an attacker\'s side at RequestResponse', () => {
    const marker = (): string => `leak-${randomBytes(6).toString('hex')}`;
    /** Fails if `secret` (or its base64) is anywhere in the audit log, once `until` is in it. */
    const tried: string[] = [];
    let lastEvent: AuditEvent | undefined;
    const assertNeverLogged = async (secrets: string[], until: (e: AuditEvent) => boolean): Promise<AuditEvent> => {
      const event = await find('the event of the attempt', until);
      tried.push(...secrets);
      lastEvent = event;
      const text = readFileSync(auditLog, 'utf8');
      for (const secret of secrets) {
        for (const form of [secret, Buffer.from(secret).toString('base64')]) assert.ok(!text.includes(form), `the audit log holds ${form}`);
      }
      return event;
    };
    /** The annotation's value (the whole applied object) is nowhere; managedFields may name the field, holding nothing. */
    const assertNoLastApplied = (): void => {
      assert.ok(!/"kubectl\.kubernetes\.io\/last-applied-configuration"\s*:\s*"/.test(readFileSync(auditLog, 'utf8')), 'last-applied-configuration has a value in the audit log');
    };
    let ns: string;
    before(async () => {
      ns = `leaks-${suffix()}`;
      await kubectlOk(['create', 'namespace', ns], { kubeconfig });
    });

    it('kubectl create secret (a protobuf body, which is not recorded) leaks nothing', async () => {
      const value = marker();
      await kubectlOk(['create', 'secret', 'generic', 'one', '-n', ns, `--from-literal=k=${value}`], { kubeconfig });
      const event = await assertNeverLogged([value], (e) => e.verb === 'create' && e.objectRef?.resource === 'secrets' && e.objectRef.namespace === ns);
      assert.equal(event.level, 'RequestResponse');
      assert.equal(event.responseStatus?.code, 201);
    });

    it('a JSON Secret create is recorded without its data', async () => {
      const value = marker();
      const body = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'json' }, data: { k: Buffer.from(value).toString('base64') }, stringData: { s: value } };
      const res = await call(drover.server, 'POST', `/k8s/clusters/${cluster.id}/api/v1/namespaces/${ns}/secrets`, { token: drover.tokenOf('admin'), body });
      assert.equal(res.status, 201, res.text);
      const event = await assertNeverLogged([value], (e) => e.verb === 'create' && e.objectRef?.name === 'json');
      assert.deepEqual((event.requestObject as { metadata?: unknown }).metadata, { name: 'json' }, 'the body was read');
      assert.equal((event.responseObject as { metadata?: { name?: string } }).metadata?.name, 'json');
    });

    it('kubectl apply of a Secret with stringData: neither the data nor last-applied-configuration', async () => {
      const value = marker();
      const manifest = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'applied', namespace: ns }, stringData: { password: value } };
      await kubectlOk(['apply', '-f', '-'], { kubeconfig, input: JSON.stringify(manifest) });
      await kubectlOk(['apply', '-f', '-'], { kubeconfig, input: JSON.stringify({ ...manifest, stringData: { password: `${value}-2` } }) });
      await assertNeverLogged([value, `${value}-2`], (e) => e.verb === 'patch' && e.objectRef?.resource === 'secrets' && e.objectRef.name === 'applied');
      assertNoLastApplied();
    });

    it('kubectl apply of a ConfigMap keeps its data but never last-applied-configuration', async () => {
      const value = marker();
      await kubectlOk(['apply', '-f', '-'], { kubeconfig, input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: ns }, data: { k: value } }) });
      const event = await find('the ConfigMap apply', (e) => e.objectRef?.resource === 'configmaps' && e.objectRef.namespace === ns && e.verb === 'create');
      assert.equal((event.requestObject as { data?: { k?: string } }).data?.k, value, 'a ConfigMap is not a Secret');
      assertNoLastApplied();
    });

    it('a JSON patch of a Secret leaks no value', async () => {
      const value = marker();
      const patch = JSON.stringify([{ op: 'replace', path: '/data/k', value: Buffer.from(value).toString('base64') }]);
      await kubectlOk(['patch', 'secret', 'one', '-n', ns, '--type=json', '-p', patch], { kubeconfig });
      await assertNeverLogged([value], (e) => e.verb === 'patch' && e.objectRef?.resource === 'secrets' && e.objectRef.name === 'one');
    });

    it('a Secret list at RequestResponse: the items are recorded without data', async () => {
      const value = marker();
      await kubectlOk(['create', 'secret', 'generic', 'two', '-n', ns, `--from-literal=k=${value}`], { kubeconfig });
      const listed = await kubectlOk(['get', 'secrets', '-n', ns, '-o', 'json'], { kubeconfig });
      assert.ok(listed.includes(Buffer.from(value).toString('base64')), 'the caller itself got the data');
      const event = await assertNeverLogged([value], (e) => e.verb === 'list' && e.objectRef?.resource === 'secrets' && e.objectRef.namespace === ns && e.responseObject !== undefined);
      const items = (event.responseObject as { items: Array<{ metadata: { name: string }; data?: unknown }> }).items;
      assert.ok(items.some((i) => i.metadata.name === 'two'));
      assert.ok(items.every((i) => i.data === undefined));
      await kubectlOk(['get', 'secret', 'two', '-n', ns, '-o', 'yaml'], { kubeconfig });
      await assertNeverLogged([value], (e) => e.verb === 'get' && e.objectRef?.name === 'two' && e.responseObject !== undefined);
    });

    it('a login\'s password, the session token it returns, and a created token never appear', async () => {
      const password = marker();
      await drover.cli('users', 'create', `u${suffix()}`, '--password', password).then(() => undefined, () => undefined);
      const failed = await call(drover.server, 'POST', '/v1/login', { body: { username: 'admin', password } });
      assert.equal(failed.status, 401);
      const ok = await call(drover.server, 'POST', '/v1/login', { body: { username: 'admin', password: adminPassword } });
      const session = (ok.json() as { token: string }).token;
      const created = (JSON.parse(await drover.cli('tokens', 'create', '--description', 'leak-test', '-o', 'json')) as { token: string }).token;
      await assertNeverLogged([password, adminPassword, session, created, session.split(':')[1] ?? session, created.split(':')[1] ?? created],
        (e) => e.requestURI.startsWith('/v1/tokens') && e.verb === 'post' && (e.requestObject as { description?: string } | undefined)?.description === 'leak-test');
    });

    it('a kubeconfig download, and the bearer token kubectl then sends, never appear', async () => {
      const file = join(dir, 'leak.kubeconfig');
      await drover.cli('kubeconfig', cluster.name, '--file', file);
      const token = /token: (\S+)/.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
      assert.notEqual(token, '');
      const probe = `probe-${suffix()}`;
      await kubectl(['get', 'configmap', probe, '-n', ns], { kubeconfig: file });
      await assertNeverLogged([token, token.split(':')[1] ?? token], (e) => e.objectRef?.name === probe);
      await find('the kubeconfig download', (e) => e.requestURI.includes('/kubeconfig') && e.verb === 'get');
    });

    it('and none of it reached the store (the search copy) either', async () => {
      const last = lastEvent;
      assert.ok(last);
      await eventually('the last attempt in the store', async () =>
        ((JSON.parse(await drover.cli('audit', 'list', '--limit', '1000', '-o', 'json')) as AuditEvent[]).some((e) => e.auditID === last.auditID) ? true : undefined), 30_000);
      const files = ['drover.db', 'drover.db-wal'].map((f) => join(drover.dir, 'server', f)).filter((f) => existsSync(f));
      const raw = files.map((f) => readFileSync(f).toString('latin1')).join('');
      assert.ok(raw.includes(last.auditID), 'the database files hold the events');
      for (const secret of tried) {
        for (const form of [secret, Buffer.from(secret).toString('base64')]) assert.ok(!raw.includes(form), `the store holds ${form}`);
      }
    });
  });

  describe('exec and attach sessions are recorded', () => {
    let ns: string;
    before(async () => {
      ns = `rec-${suffix()}`;
      await kubectlOk(['create', 'namespace', ns], { kubeconfig });
      await kubectlOk(['apply', '-f', '-'], { kubeconfig, input: JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shell', namespace: ns },
        spec: { nodeSelector: { 'kubernetes.io/hostname': node.name }, terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image: 'none', command: ['sh', '-c', 'sleep 3600'] }] },
      }) });
      await kubectlOk(['wait', '-n', ns, '--for=condition=Ready', 'pod/shell', '--timeout=60s'], { kubeconfig });
    });
    /** `kubectl exec -it` on a pseudo-terminal (script gives it one), typing `input`. */
    const interactive = (args: string[], input: string, env: NodeJS.ProcessEnv = {}): Promise<string> => new Promise((resolve, reject) => {
      // The pty gets a size, which kubectl sends as a resize message.
      const child = spawn('script', ['-qfec', `stty cols 100 rows 30; ${['kubectl', ...args].map((a) => `'${a}'`).join(' ')}`, '/dev/null'], { env: { ...process.env, KUBECONFIG: kubeconfig, TERM: 'xterm', ...env } });
      let out = '';
      child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
      child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
      child.once('error', reject);
      child.once('close', () => resolve(out));
      // Typed a line at a time, once the shell can read it.
      void (async () => {
        await eventually('the shell to start', () => (out.length > 0 ? true : undefined), 30_000).catch(() => undefined);
        for (const line of input.split('\n')) {
          child.stdin.write(`${line}\n`);
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
    });

    let marker = '';
    const seen = new Set<string>();
    const transports: Array<[string, NodeJS.ProcessEnv]> = [['SPDY', { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }], ['WebSocket', {}]];
    for (const [transport, env] of transports) it(`records a real kubectl exec -it over ${transport} as asciicast v2, with who, when, cluster, pod and container`, async () => {
      marker = `rec-${suffix()}`;
      const out = await interactive(['exec', '-it', '-n', ns, 'shell', '-c', 'main', '--', 'sh'], `echo ${marker}-$((6*7))\nexit`, env);
      assert.match(out, new RegExp(`${marker}-42`), out);
      const event = await find('the exec event', (e) => e.objectRef?.subresource === 'exec' && e.objectRef.namespace === ns && e.stage === 'ResponseComplete' && !seen.has(e.auditID));
      seen.add(event.auditID);
      assert.equal(event.responseStatus?.code, 101);
      const sessions = JSON.parse(await drover.cli('audit', 'sessions', '-o', 'json')) as Array<{ title: string; drover: { auditID: string; username: string; userId: string; clusterId: string; pod: string; container?: string; namespace: string; tty: boolean; kind: string } }>;
      const header = sessions.find((s) => s.drover.auditID === event.auditID);
      assert.ok(header, 'the recording is named by the exec\'s auditID');
      assert.deepEqual([header.drover.username, header.drover.userId, header.drover.clusterId, header.drover.namespace, header.drover.pod, header.drover.container, header.drover.kind, header.drover.tty],
        ['admin', adminId, cluster.id, ns, 'shell', 'main', 'exec', true]);
      const cast = await drover.cli('audit', 'sessions', 'get', event.auditID);
      const [head, ...lines] = cast.trimEnd().split('\n');
      assert.equal((JSON.parse(head ?? '{}') as { version: number }).version, 2);
      const events = lines.map((l) => JSON.parse(l) as [number, string, string]);
      const output = events.filter(([, code]) => code === 'o').map(([, , d]) => d).join('');
      assert.match(output, new RegExp(`${marker}-42`), 'the shell\'s output');
      assert.match(output, new RegExp(`echo ${marker}`), 'the terminal\'s echo of what was typed');
      assert.ok(!events.some(([, code]) => code === 'i'), 'typed input itself is not recorded (a password typed with echo off would be)');
      assert.ok(events.some(([, code, d]) => code === 'r' && d === '100x30'), 'the terminal size');
      assert.ok(events.every(([t], i) => i === 0 || t >= (events[i - 1]?.[0] ?? 0)), 'times only grow');
    });

    it('records kubectl attach -it to a container\'s own terminal', async () => {
      await kubectlOk(['apply', '-f', '-'], { kubeconfig, input: JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'console', namespace: ns },
        spec: { nodeSelector: { 'kubernetes.io/hostname': node.name }, terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image: 'none', command: ['sh'], stdin: true, tty: true }] },
      }) });
      await kubectlOk(['wait', '-n', ns, '--for=condition=Ready', 'pod/console', '--timeout=60s'], { kubeconfig });
      const attached = `att-${suffix()}`;
      const out = await interactive(['attach', '-it', '-n', ns, 'console', '-c', 'main'], `echo ${attached}-$((6*7))\nexit`);
      assert.match(out, new RegExp(`${attached}-42`), out);
      const event = await find('the attach event', (e) => e.objectRef?.subresource === 'attach' && e.objectRef.namespace === ns && e.stage === 'ResponseComplete');
      const header = (JSON.parse(await drover.cli('audit', 'sessions', '-o', 'json')) as Array<{ drover: { auditID: string; kind: string; pod: string } }>).find((h) => h.drover.auditID === event.auditID);
      assert.deepEqual([header?.drover.kind, header?.drover.pod], ['attach', 'console']);
      assert.match(await drover.cli('audit', 'sessions', 'get', event.auditID), new RegExp(`${attached}-42`));
    });

    it('lets an exec through with a warning event when the recording cannot be written (best effort)', async () => {
      // Recordings are in the database: the server's table moved away makes its write fail.
      const database = new SQLite(join(drover.dir, 'server', 'drover.db'));
      database.pragma('busy_timeout = 5000');
      database.exec('alter table session_recordings rename to session_recordings_moved');
      try {
        const out = await kubectlOk(['exec', '-n', ns, 'shell', '--', 'echo', 'unrecorded'], { kubeconfig });
        assert.equal(out, 'unrecorded\n');
        const event = await find('the unrecorded exec', (e) => e.objectRef?.subresource === 'exec' && e.annotations?.['drover.dev/recording'] !== undefined);
        assert.match(event.annotations?.['drover.dev/recording'] ?? '', /could not be written/);
      } finally {
        database.exec('alter table session_recordings_moved rename to session_recordings');
        database.close();
      }
    });

    it('shows the events and replays the session on the web UI\'s Audit page (admins), under the strict CSP', async () => {
      ensureUiBuilt();
      const browser = await launchBrowser();
      try {
        const { page } = browser;
        const blocked: string[] = [];
        page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });
        await page.goto(`${drover.server.url}/`);
        await page.getByLabel('Username').fill('admin');
        await page.getByLabel('Password', { exact: true }).fill(adminPassword);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit', exact: true }).click();
        await page.getByRole('heading', { name: 'Audit' }).waitFor();
        await page.getByLabel('Verb').fill('get');
        await page.getByRole('button', { name: 'Show' }).click();
        await page.getByRole('region', { name: 'Audit events' }).getByText('pods/exec shell').first().waitFor();
        await page.locator('tr[data-session]', { hasText: 'exec ' }).first().getByRole('button', { name: 'Play' }).click();
        await eventually('the replayed output', async () => ((await page.getByTestId('session-output').textContent())?.includes(`${marker}-42`) ? true : undefined), 30_000);
        assert.deepEqual(blocked, []);
      } finally {
        await browser.close();
      }
    });
  });
});
