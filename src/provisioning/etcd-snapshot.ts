/**
 * etcd snapshots through etcd's own snapshot API (Maintenance.Snapshot, over its
 * HTTP gateway `POST /v3/maintenance/snapshot`): the node agent asks its local etcd
 * member with the plan's client certificate and hands the bytes to the server over
 * its tunnel session; the server checks the size, computes the SHA-256 and keeps the
 * file (snapshots.ts). The whole snapshot is held in memory on both sides, so it is
 * bounded (`maxSnapshotBytes`).
 */
import https from 'node:https';
import { DroverError } from '../errors/index.ts';
import { etcdTlsOptions, type EtcdClientTls } from './etcd-membership.ts';

/** The route the server calls on a node agent's session. */
export const snapshotRoute = { method: 'POST', path: '/v1/etcd/snapshot' } as const;
/** The largest snapshot taken: 256 MiB (etcd's default backend quota is 2 GiB; Drover-sized clusters stay far below). */
export const maxSnapshotBytes = 256 * 1024 * 1024;

/** Takes a snapshot from the etcd member that `health` checks (its URL, CA and client certificate). */
export function takeSnapshot(dataDir: string, health: EtcdClientTls): Promise<Buffer> {
  const url = new URL('/v3/maintenance/snapshot', health.url);
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: 'POST', ...etcdTlsOptions(dataDir, health),
      headers: { 'content-type': 'application/json' }, timeout: 120_000,
    }, (res) => {
      // The gateway streams one JSON object per line: {"result":{"remaining_bytes":…,"blob":"<base64>"}}.
      const blobs: Buffer[] = [];
      let size = 0;
      let pending = '';
      const line = (text: string): void => {
        if (!text.trim()) return;
        const parsed = JSON.parse(text) as { result?: { blob?: string }; error?: { message?: string } };
        if (parsed.error) throw new DroverError('DRV_ERR_BAD_GATEWAY', `etcd refused the snapshot: ${parsed.error.message ?? 'no reason given'}`);
        const blob = Buffer.from(parsed.result?.blob ?? '', 'base64');
        size += blob.length;
        if (size > maxSnapshotBytes) throw new DroverError('DRV_ERR_PAYLOAD_TOO_LARGE', `the etcd snapshot is larger than ${maxSnapshotBytes} bytes; take it with etcdctl on the node`);
        blobs.push(blob);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        try {
          pending += chunk;
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          lines.forEach(line);
        } catch (error) {
          req.destroy(error as Error);
        }
      });
      res.on('end', () => {
        try {
          line(pending);
          if (res.statusCode !== 200) throw new DroverError('DRV_ERR_BAD_GATEWAY', `etcd answered ${res.statusCode} to the snapshot request`);
          if (size === 0) throw new DroverError('DRV_ERR_BAD_GATEWAY', 'etcd sent an empty snapshot');
          resolve(Buffer.concat(blobs));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new DroverError('DRV_ERR_GATEWAY_TIMEOUT', 'etcd did not finish the snapshot within 120 s')));
    req.on('error', reject);
    req.end('{}');
  });
}
