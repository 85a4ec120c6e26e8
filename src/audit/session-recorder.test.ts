/**
 * Exec recordings kept in the database, as replicas see them: two recorders (replicas
 * with data dirs of their own) on one database, on SQLite and a real PostgreSQL.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { openStore } from '../store/index.ts';
import { engines, sharedStore } from '../../test/testenv/stores.ts';
import { eventually } from '../../test/testenv/wait.ts';
import { SessionRecorder, execSessionInfo, type SessionInfo } from './session-recorder.ts';
import { DroverError } from '../errors/index.ts';

const info = (auditID = randomUUID()): SessionInfo => ({ auditID, userId: 'u-x', username: 'x', clusterId: 'c-x', namespace: 'ns', pod: 'p', kind: 'exec', tty: true });
/** A server's WebSocket frame on channel 1 (stdout), as kube-apiserver sends it. */
const stdout = (text: string): Buffer => Buffer.concat([Buffer.from([0x82, text.length + 1, 1]), Buffer.from(text)]);
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-rec-'));
  dirs.push(dir);
  return dir;
};
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('SessionRecorder', () => {
  const closedStore = async (): Promise<Awaited<ReturnType<typeof openStore>>> => {
    const store = await openStore({ dataDir: tempDir() });
    await store.close();
    return store;
  };

  it('strict mode refuses a session whose recording cannot be written', async () => {
    const recorder = new SessionRecorder({ db: (await closedStore()).db, mode: 'strict' });
    await assert.rejects(recorder.start(info()), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_SERVER_UNAVAILABLE' && /--exec-recording strict/.test(e.message));
  });

  it('best effort lets it through, saying why', async () => {
    const started = await new SessionRecorder({ db: (await closedStore()).db, mode: 'best-effort' }).start(info());
    assert.ok('failed' in started);
    assert.match(started.failed, /could not be written/);
  });

  it('knows an exec or attach from its path, and nothing else', () => {
    const user = { id: 'u-x', username: 'x' };
    const auditID = randomUUID();
    const exec = execSessionInfo({ method: 'GET', target: '/api/v1/namespaces/ns/pods/p/exec?command=sh&command=-c&container=main&tty=true&stdin=true', auditID, clusterId: 'c-x', user });
    assert.deepEqual(exec, { ...info(auditID), container: 'main', command: ['sh', '-c'] });
    assert.equal(execSessionInfo({ method: 'POST', target: '/api/v1/namespaces/ns/pods/p/attach?tty=false', auditID, clusterId: 'c-x', user })?.kind, 'attach');
    assert.equal(execSessionInfo({ method: 'GET', target: '/api/v1/namespaces/ns/pods/p/portforward?ports=80', auditID, clusterId: 'c-x', user }), undefined);
  });
});

for (const engine of engines) {
  describe(`session recordings shared by replicas (${engine})`, () => {
    const store = sharedStore(engine, 'recordings');

    it('replica B lists and replays what replica A records, while the session runs and after', async () => {
      const { db } = await store();
      const a = new SessionRecorder({ db, mode: 'strict', flushMs: 20 });
      const b = new SessionRecorder({ db, mode: 'strict' });
      const session = info();
      const recording = await a.start(session);
      assert.ok(!('failed' in recording));
      const upstream = new PassThrough();
      recording.attach(new PassThrough(), upstream, 'v5.channel.k8s.io');
      upstream.write(stdout('first line'));
      assert.ok((await b.list()).some((h) => h.drover.auditID === session.auditID && h.drover.pod === 'p'), 'listed from the start');
      await eventually('the open session\'s output on replica B', async () => ((await b.read(session.auditID)).includes('first line') ? true : undefined), 10_000);
      upstream.write(stdout('second line'));
      recording.close();
      const cast = await eventually('the rest on replica B', async () => {
        const text = await b.read(session.auditID);
        return text.includes('second line') ? text : undefined;
      }, 10_000);
      const [head, ...events] = cast.trimEnd().split('\n');
      assert.equal((JSON.parse(head ?? '') as { drover: { auditID: string } }).drover.auditID, session.auditID);
      assert.deepEqual(events.map((l) => (JSON.parse(l) as [number, string, string]).slice(1)), [['o', 'first line'], ['o', 'second line']]);
    });

    it('a stopping server writes what its open recordings hold before its store closes', async () => {
      const { db } = await store();
      const a = new SessionRecorder({ db, mode: 'strict', flushMs: 3_600_000 });
      const session = info();
      const recording = await a.start(session);
      assert.ok(!('failed' in recording));
      const upstream = new PassThrough();
      recording.attach(new PassThrough(), upstream, 'v5.channel.k8s.io');
      upstream.write(stdout('last words'));
      await new Promise((r) => setImmediate(r));
      await a.flushAll();
      assert.match(await new SessionRecorder({ db, mode: 'strict' }).read(session.auditID), /last words/);
    });

    it('never writes over a recording, and reads only ids it could have written', async () => {
      const { db } = await store();
      const recorder = new SessionRecorder({ db, mode: 'strict' });
      const session = info();
      const first = await recorder.start(session);
      assert.ok(!('failed' in first));
      first.close();
      await assert.rejects(recorder.start(session), /could not be written/);
      await assert.rejects(recorder.read('../../etc/passwd'), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_NOT_FOUND');
      await assert.rejects(recorder.read(randomUUID()), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_NOT_FOUND');
    });

    it('any replica prunes recordings last written before the retention, and nothing else', async () => {
      const { db } = await store();
      const day = 86_400_000;
      const now = Date.parse('2036-12-07T12:00:00Z');
      const at = (ms: number): SessionRecorder => new SessionRecorder({ db, mode: 'strict', now: () => ms });
      const old = info();
      const recent = info();
      (await at(now - 31 * day).start(old) as { close(): void }).close();
      (await at(now - 29 * day).start(recent) as { close(): void }).close();
      const other = new SessionRecorder({ db, mode: 'best-effort', now: () => now, retentionMs: 30 * day });
      assert.equal(await new SessionRecorder({ db, mode: 'best-effort', now: () => now + 400 * day }).prune(), 0, 'no retention: kept forever');
      assert.ok(await other.prune() >= 1);
      await assert.rejects(other.read(old.auditID), /no session recording/);
      assert.match(await other.read(recent.auditID), new RegExp(recent.auditID));
    });

    it('moves an older server\'s recording files into the database, keeping their age', async () => {
      const { db } = await store();
      const dir = tempDir();
      const auditID = randomUUID();
      const header = { version: 2, width: 80, height: 24, timestamp: 0, title: 't', drover: { ...info(auditID), startedAt: '2026-12-01T00:00:00.000Z' } };
      const path = join(dir, `${auditID}.cast`);
      writeFileSync(path, `${JSON.stringify(header)}\n[0.5,"o","from a file"]\n`);
      const modified = Date.parse('2026-12-01T00:05:00Z');
      utimesSync(path, modified / 1000, modified / 1000);
      writeFileSync(join(dir, 'notes.txt'), 'not a recording');
      const recorder = new SessionRecorder({ db, mode: 'best-effort', dir });
      assert.equal(await recorder.adoptFiles(), 1);
      assert.equal(existsSync(path), false);
      assert.equal(existsSync(join(dir, 'notes.txt')), true);
      assert.equal(await recorder.read(auditID), `${JSON.stringify(header)}\n[0.5,"o","from a file"]\n`);
      const row = await db.selectFrom('session_recordings').select('written_at').where('audit_id', '=', auditID).executeTakeFirstOrThrow();
      assert.equal(Number(row.written_at), modified);
    });
  });
}
