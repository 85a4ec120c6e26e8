import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

  it('knows an exec or attach from its path, and nothing else', () => {
    const user = { id: 'u-x', username: 'x' };
    const exec = execSessionInfo({ method: 'GET', target: '/api/v1/namespaces/ns/pods/p/exec?command=sh&command=-c&container=main&tty=true&stdin=true', auditID: info.auditID, clusterId: 'c-x', user });
    assert.deepEqual(exec, { ...info, container: 'main', command: ['sh', '-c'] });
    assert.equal(execSessionInfo({ method: 'POST', target: '/api/v1/namespaces/ns/pods/p/attach?tty=false', auditID: info.auditID, clusterId: 'c-x', user })?.kind, 'attach');
    assert.equal(execSessionInfo({ method: 'GET', target: '/api/v1/namespaces/ns/pods/p/portforward?ports=80', auditID: info.auditID, clusterId: 'c-x', user }), undefined);
  });
});
