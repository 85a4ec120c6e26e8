/**
 * A node's half of `drover clusters snapshots restore`: with every process
 * stopped (the plan's re-run stops them, kube-apiserver and the controllers before
 * etcd), download the snapshot from the server (checksum from the plan), let
 * `etcdutl snapshot restore` build a new data dir beside the old one, then swap:
 * `var/lib/etcd` becomes `var/lib/etcd.before-<restore id>` and the new one takes
 * its place. Nothing is swapped unless etcdutl succeeded, so a failed restore
 * leaves etcd's data as it was; after the swap, the old data stays on disk until
 * the operator removes it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DroverError } from '../errors/index.ts';
import type { PlannedRestore } from './plan.ts';

export const etcdDataDir = 'var/lib/etcd';
const restoreTimeoutMs = 300_000;

export interface EtcdRestoreOptions {
  dataDir: string;
  /** The planned etcdutl (downloaded and checked like every binary). */
  etcdutl: string;
  restore: PlannedRestore;
  /** Downloads a server path to a file, refusing bytes of another SHA-256. */
  download(path: string, file: string, sha256: string): Promise<void>;
}

/** Carries out the restore; resolves with what happened, for the step's report. */
export async function restoreEtcd(options: EtcdRestoreOptions): Promise<string> {
  const { dataDir, restore } = options;
  const started = Date.now();
  const file = join(dataDir, 'var/lib', `snapshot-${restore.id}.db`);
  const fresh = join(dataDir, `${etcdDataDir}.restoring-${restore.id}`);
  const before = `${etcdDataDir}.before-${restore.id}`;
  await options.download(`/snapshots/${encodeURIComponent(restore.snapshotId)}`, file, restore.sha256);
  await rm(fresh, { recursive: true, force: true });
  try {
    await run(options.etcdutl, ['snapshot', 'restore', file, `--data-dir=${fresh}`, ...restore.args]);
  } catch (error) {
    await rm(fresh, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(file, { force: true });
  }
  const current = join(dataDir, etcdDataDir);
  if (existsSync(current)) await rename(current, join(dataDir, before));
  await rename(fresh, current);
  return `snapshot ${restore.snapshotId} (${restore.size} bytes) restored for restore ${restore.id} in ${((Date.now() - started) / 1000).toFixed(1)} s; `
    + `etcd's data before it is kept in ${before} (remove it once the cluster is right)`;
}

function run(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: restoreTimeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (!error) { resolve(); return; }
      const tail = stderr.trim().split('\n').slice(-5).join(' | ').slice(-1500);
      reject(new DroverError('DRV_ERR_PROVISIONING_FAILED', `etcdutl snapshot restore failed (${error.killed ? `killed after ${restoreTimeoutMs / 1000} s` : error.message.split('\n')[0] ?? ''}): ${tail || 'no output'}; `
        + `etcd's data was left as it was in ${etcdDataDir}`));
    });
  });
}
