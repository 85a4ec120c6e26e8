import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { SessionRecorder, execSessionInfo, type SessionInfo } from './session-recorder.ts';
import { DroverError } from '../errors/index.ts';

const info: SessionInfo = { auditID: '6f326b35-f213-461b-9e83-174d9ad243a8', userId: 'u-x', username: 'x', clusterId: 'c-x', namespace: 'ns', pod: 'p', kind: 'exec', tty: true };

describe('SessionRecorder', () => {
  const blocked = (): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'drover-rec-')), 'not-a-dir');
    writeFileSync(file, '');
    return join(file, 'recordings');
  };

  it('strict mode refuses a session whose recording cannot be written', async () => {
    const recorder = new SessionRecorder({ dir: blocked(), mode: 'strict' });
    await assert.rejects(recorder.start(info), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_SERVER_UNAVAILABLE' && /--exec-recording strict/.test(e.message));
  });

  it('best effort lets it through, saying why', async () => {
    const started = await new SessionRecorder({ dir: blocked(), mode: 'best-effort' }).start(info);
    assert.ok('failed' in started);
    assert.match(started.failed, /could not be written/);
  });

  it('never writes over a recording, and reads only ids it could have written', async () => {
    const recorder = new SessionRecorder({ dir: mkdtempSync(join(tmpdir(), 'drover-rec-')), mode: 'strict' });
    const first = await recorder.start(info);
    assert.ok(!('failed' in first));
    first.close();
    await assert.rejects(recorder.start(info), /could not be written/);
    await assert.rejects(recorder.read('../../etc/passwd'), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_NOT_FOUND');
  });

  it('prunes recordings last written before the retention, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-rec-'));
    const now = Date.parse('2026-12-07T12:00:00Z');
    const day = 86_400_000;
    const file = (name: string, ageMs: number): string => {
      const path = join(dir, name);
      writeFileSync(path, '{}\n');
      utimesSync(path, (now - ageMs) / 1000, (now - ageMs) / 1000);
      return path;
    };
    const old = file('old.cast', 31 * day);
    const recent = file('recent.cast', 29 * day);
    const notARecording = file('notes.txt', 400 * day);
    const recorder = new SessionRecorder({ dir, mode: 'best-effort', now: () => now, retentionMs: 30 * day });
    assert.equal(await recorder.prune(), 1);
    assert.equal(existsSync(old), false, 'the recording older than the retention is gone');
    assert.equal(existsSync(recent), true, 'a younger recording stays');
    assert.equal(existsSync(notARecording), true, 'only .cast files are judged');
    assert.equal(await new SessionRecorder({ dir, mode: 'best-effort', now: () => now + 400 * day }).prune(), 0, 'no retention: kept forever');
    assert.equal(await new SessionRecorder({ dir: join(dir, 'missing'), mode: 'best-effort', now: () => now, retentionMs: day }).prune(), 0, 'no directory yet: nothing to do');
  });

  it('knows an exec or attach from its path, and nothing else', () => {
    const user = { id: 'u-x', username: 'x' };
    const exec = execSessionInfo({ method: 'GET', target: '/api/v1/namespaces/ns/pods/p/exec?command=sh&command=-c&container=main&tty=true&stdin=true', auditID: info.auditID, clusterId: 'c-x', user });
    assert.deepEqual(exec, { ...info, container: 'main', command: ['sh', '-c'] });
    assert.equal(execSessionInfo({ method: 'POST', target: '/api/v1/namespaces/ns/pods/p/attach?tty=false', auditID: info.auditID, clusterId: 'c-x', user })?.kind, 'attach');
    assert.equal(execSessionInfo({ method: 'GET', target: '/api/v1/namespaces/ns/pods/p/portforward?ports=80', auditID: info.auditID, clusterId: 'c-x', user }), undefined);
  });
});
