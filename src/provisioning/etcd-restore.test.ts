import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreEtcd } from './etcd-restore.ts';

/** A stand-in etcdutl: writes a marker into --data-dir, or fails as told. */
function fakeEtcdutl(dir: string, fail: boolean): string {
  const file = join(dir, 'etcdutl');
  writeFileSync(file, fail
    ? '#!/bin/sh\necho "Error: snapshot file has wrong hash" >&2\nexit 1\n'
    : '#!/bin/sh\nfor a in "$@"; do case "$a" in --data-dir=*) d="${a#--data-dir=}";; esac; done\nmkdir -p "$d/member" && echo "$@" > "$d/member/restored"\n');
  chmodSync(file, 0o755);
  return file;
}

describe('restoreEtcd', () => {
  let dataDir: string;
  const restore = { id: 'r-1', snapshotId: 's-1', sha256: 'a'.repeat(64), size: 3, requestedAt: '2026-01-01T00:00:00Z', args: ['--name=n1'] };
  const download = (_path: string, file: string): Promise<void> => { writeFileSync(file, 'db!'); return Promise.resolve(); };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'etcd-restore-'));
    mkdirSync(join(dataDir, 'var/lib/etcd/member'), { recursive: true });
    writeFileSync(join(dataDir, 'var/lib/etcd/member/old'), 'the data before');
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('swaps in the restored data and keeps the old data beside it, removing the downloaded snapshot', async () => {
    const message = await restoreEtcd({ dataDir, etcdutl: fakeEtcdutl(dataDir, false), restore, download });
    assert.match(readFileSync(join(dataDir, 'var/lib/etcd/member/restored'), 'utf8'), /^snapshot restore \S+snapshot-r-1\.db --data-dir=\S+etcd\.restoring-r-1 --name=n1/);
    assert.equal(readFileSync(join(dataDir, 'var/lib/etcd.before-r-1/member/old'), 'utf8'), 'the data before');
    assert.deepEqual(readdirSync(join(dataDir, 'var/lib')).sort(), ['etcd', 'etcd.before-r-1']);
    assert.match(message, /snapshot s-1 \(3 bytes\) restored for restore r-1 .*var\/lib\/etcd\.before-r-1/);
  });

  it('leaves etcd\'s data as it was when etcdutl fails, and says why', async () => {
    await assert.rejects(restoreEtcd({ dataDir, etcdutl: fakeEtcdutl(dataDir, true), restore, download }),
      /etcdutl snapshot restore failed .*wrong hash.*left as it was in var\/lib\/etcd/);
    assert.equal(readFileSync(join(dataDir, 'var/lib/etcd/member/old'), 'utf8'), 'the data before');
    assert.deepEqual(readdirSync(join(dataDir, 'var/lib')), ['etcd']);
  });

  it('touches nothing when the download is refused (a checksum that does not match)', async () => {
    const refused = (): Promise<void> => Promise.reject(new Error('the download of /snapshots/s-1 has SHA-256 b…, not a… as planned'));
    await assert.rejects(restoreEtcd({ dataDir, etcdutl: fakeEtcdutl(dataDir, false), restore, download: refused }), /not a… as planned/);
    assert.equal(existsSync(join(dataDir, 'var/lib/etcd/member/old')), true);
    assert.deepEqual(readdirSync(join(dataDir, 'var/lib')), ['etcd']);
  });
});
