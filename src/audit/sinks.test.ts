/** Each sink against a real receiver: files on disk, a pipe to another process, an HTTPS server. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Registry } from 'prom-client';
import { fileSink, streamSink } from './file-sink.ts';
import { webhookSink, webhookTargetFromKubeconfig } from './webhook-sink.ts';
import { createAuditTrail } from './feature.ts';
import type { AuditEvent } from './event.ts';
import { makeTestPki, until } from '../testing/index.ts';
import { silentLogger } from '../logging/index.ts';

const event = (n: number): AuditEvent => ({
  kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: `id-${n}`, stage: 'ResponseComplete', requestURI: `/api/v1/pods?n=${n}`,
  verb: 'list', user: { username: 'u-x' }, requestReceivedTimestamp: '2026-12-07T00:00:00.000000Z', stageTimestamp: '2026-12-07T00:00:00.000000Z',
});
const write = (sink: { write(line: string, e: AuditEvent): void }, n: number): void => { sink.write(JSON.stringify(event(n)), event(n)); };
const noErrors = (error: unknown): void => { throw error; };

describe('the file sink', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-audit-file-'));

  it('appends one JSON event a line, in a 0600 file', async () => {
    const path = join(dir, 'plain', 'audit.log');
    const sink = fileSink({ path, maxBytes: 0, maxBackups: 0, maxAgeMs: 0, maxBuffered: 100, onDrop: () => assert.fail('dropped'), onError: noErrors });
    for (let i = 0; i < 5; i++) write(sink, i);
    await sink.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    assert.deepEqual(lines.map((e) => e.auditID), ['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('rotates by size, keeps at most maxBackups, and deletes backups older than maxAge', async () => {
    const sub = join(dir, 'rotate');
    const path = join(sub, 'audit.log');
    let clock = Date.parse('2026-12-07T00:00:00Z');
    const lineBytes = JSON.stringify(event(10)).length + 1;
    const sink = fileSink({
      path, maxBytes: lineBytes * 3, maxBackups: 2, maxAgeMs: 86_400_000, maxBuffered: 100,
      onDrop: () => assert.fail('dropped'), onError: noErrors, now: () => (clock += 1000),
    });
    for (let i = 10; i < 22; i++) {
      write(sink, i);
      await sink.drain();
    }
    await sink.close();
    const backups = readdirSync(sub).filter((f) => f !== 'audit.log').sort();
    assert.equal(backups.length, 2, `kept ${backups.join(', ')}`);
    for (const b of backups) assert.match(b, /^audit-2026-12-07T00-00-\d{2}\.\d{3}\.log$/);
    assert.ok(statSync(path).size <= lineBytes * 3);
    // Everything kept is whole lines, the newest in the live file.
    const kept = [...backups.map((b) => join(sub, b)), path].flatMap((f) => readFileSync(f, 'utf8').trimEnd().split('\n')).map((l) => (JSON.parse(l) as AuditEvent).auditID);
    assert.equal(kept.at(-1), 'id-21');
    // An old backup goes at the next rotation, whatever the count.
    const oldest = join(sub, backups[0] ?? '');
    utimesSync(oldest, new Date('2026-11-01T00:00:00Z'), new Date('2026-11-01T00:00:00Z'));
    const again = fileSink({ path, maxBytes: lineBytes * 3, maxBackups: 10, maxAgeMs: 86_400_000, maxBuffered: 100, onDrop: () => undefined, onError: noErrors, now: () => Date.parse('2026-11-01T12:00:00Z') + 86_400_000 * 7 });
    for (let i = 30; i < 34; i++) write(again, i);
    await again.close();
    assert.ok(!readdirSync(sub).includes(backups[0] ?? ''), 'the old backup was deleted');
  });

  it('drops and counts what does not fit its buffer, without waiting', async () => {
    const path = join(dir, 'full', 'audit.log');
    let dropped = 0;
    const sink = fileSink({ path, maxBytes: 0, maxBackups: 0, maxAgeMs: 0, maxBuffered: 3, onDrop: (n) => { dropped += n; }, onError: noErrors });
    for (let i = 0; i < 10; i++) write(sink, i);
    assert.equal(dropped, 7);
    await sink.close();
    assert.equal(readFileSync(path, 'utf8').trimEnd().split('\n').length, 3);
  });
});

describe('the stdout sink', () => {
  it('writes whole lines to a real pipe', async () => {
    const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    const sink = streamSink(child.stdin, { maxBuffered: 10_000, onDrop: () => assert.fail('dropped'), onError: noErrors });
    for (let i = 0; i < 2000; i++) write(sink, i);
    await sink.close();
    child.stdin.end();
    await new Promise((r) => child.once('close', r));
    const ids = out.trimEnd().split('\n').map((l) => (JSON.parse(l) as AuditEvent).auditID);
    assert.equal(ids.length, 2000);
    assert.equal(ids[1999], 'id-1999');
  });
});

describe('the webhook sink against a real HTTPS receiver', () => {
  const pki = makeTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'drover-audit-webhook-'));
  const received: Array<{ auth: string | undefined; body: { kind: string; apiVersion: string; items: AuditEvent[] } }> = [];
  let failNext = 0;
  let hang = false;
  let hung = 0;
  const server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      if (hang) {
        hung++;
        return;
      }
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
        return;
      }
      received.push({ auth: req.headers.authorization, body: JSON.parse(body) as (typeof received)[number]['body'] });
      res.writeHead(200).end();
    });
  });
  const listening = new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => { server.closeAllConnections(); server.close(); });
  const kubeconfig = async (): Promise<string> => {
    await listening;
    const file = join(dir, 'webhook.kubeconfig');
    writeFileSync(join(dir, 'ca.crt'), pki.caPem);
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Config', 'current-context: audit',
      'clusters:', '- name: receiver', '  cluster:', `    server: https://127.0.0.1:${(server.address() as AddressInfo).port}/audit`, '    certificate-authority: ca.crt',
      'users:', '- name: drover', '  user:', '    token: webhook-secret',
      'contexts:', '- name: audit', '  context: {cluster: receiver, user: drover}', '',
    ].join('\n'));
    return file;
  };

  it('posts EventLists in batches, trusting the kubeconfig\'s CA and sending its token', async () => {
    const target = webhookTargetFromKubeconfig(await kubeconfig());
    const sink = webhookSink({ target, maxBuffered: 1000, batchWaitMs: 50, onDrop: () => assert.fail('dropped'), onError: noErrors });
    for (let i = 0; i < 10; i++) write(sink, i);
    await sink.close();
    const items = received.flatMap((r) => r.body.items);
    assert.deepEqual(items.map((e) => e.auditID), [...Array(10).keys()].map((i) => `id-${i}`));
    assert.ok(received.length < 10, 'batched');
    assert.equal(received[0]?.body.kind, 'EventList');
    assert.equal(received[0]?.body.apiVersion, 'audit.k8s.io/v1');
    assert.equal(received[0]?.auth, 'Bearer webhook-secret');
  });

  it('retries a failing receiver with backoff, and delivers once it recovers', async () => {
    received.length = 0;
    failNext = 2;
    const sink = webhookSink({ target: webhookTargetFromKubeconfig(await kubeconfig()), maxBuffered: 1000, batchWaitMs: 10, initialBackoffMs: 20, onDrop: () => assert.fail('dropped'), onError: noErrors });
    write(sink, 100);
    await sink.close();
    assert.equal(failNext, 0);
    assert.deepEqual(received.flatMap((r) => r.body.items).map((e) => e.auditID), ['id-100']);
  });

  it('never blocks while the receiver hangs: a full buffer drops and counts in /metrics', async () => {
    hang = true;
    const registry = new Registry();
    const trail = createAuditTrail({
      config: { policy: { rules: [{ level: 'Metadata' }] }, logMaxBytes: 0, logMaxBackups: 0, logMaxAgeMs: 0, retentionMs: 0, execRecording: 'off', execRecordingRetentionMs: 0, webhook: webhookTargetFromKubeconfig(await kubeconfig()) },
      registry, logger: silentLogger(), webhookTiming: { batchWaitMs: 1 },
    });
    assert.ok(trail);
    // The first batch is in flight, hanging; the buffer then fills and the rest is dropped at once.
    trail.emit(event(0));
    await until('the receiver to hold the first batch', () => hung > 0);
    for (let i = 1; i <= 10_000 + 25; i++) trail.emit(event(i));
    const metrics = await registry.metrics();
    assert.match(metrics, /drover_audit_events_dropped_total\{sink="webhook"\} 25/);
    hang = false;
    server.closeAllConnections();
    await trail.close();
  });
});
