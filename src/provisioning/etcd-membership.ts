/**
 * etcd membership of a provisioned cluster (etcd's runtime reconfiguration), through
 * etcd's HTTP gateway with the plan's client certificate, as the snapshots are taken:
 *
 * - a new member joins: before its etcd first starts (no data dir yet), the node asks a
 *   running member for the member list and adds itself (`MemberAdd`, a voting member),
 *   then starts etcd as `existing` with `--initial-cluster` built from etcd's answer, as
 *   `etcdctl member add` prints it. Members are added one at a time: etcd's strict
 *   reconfiguration check (on by default) refuses an add that an unstarted member would
 *   leave without quorum, and the node retries until the member before it has started.
 *   A node that was added but died before starting finds itself in the list and does
 *   not add itself twice.
 * - a member leaves: a node registered again without the etcd role runs no etcd (its
 *   data is set aside); the etcd nodes' plans name its peer URL, and each removes that
 *   member (`MemberRemove`) once its own member is healthy, so the quorum counts only
 *   members that can run.
 *
 * Learners (added without a vote, promoted once caught up) would keep the quorum
 * while a member catches up; with the small etcd of a Drover-sized cluster a voting
 * member catches up within seconds, and the strict check already serialises adds.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DroverError } from '../errors/index.ts';
import type { EtcdJoin, HealthCheck } from './plan.ts';

/** The TLS files of the plan's etcd client certificate (the etcd process's health check carries them). */
export type EtcdClientTls = Extract<HealthCheck, { kind: 'https' }>;

interface Member { ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }
interface MembersAnswer { member?: Member; members?: Member[] }

/** The client certificate, key and CA for a request to etcd, read from the node's data dir. */
export function etcdTlsOptions(dataDir: string, tls: EtcdClientTls): https.RequestOptions {
  const file = (path: string | undefined): Buffer | undefined => (path ? readFileSync(join(dataDir, path)) : undefined);
  return { ca: file(tls.caFile), cert: file(tls.certFile), key: file(tls.keyFile) };
}

/** One call of etcd's JSON gateway (`POST /v3/...`); rejects with etcd's own message on an error. */
export function etcdCall<T>(clientUrl: string, path: string, body: object, tls: https.RequestOptions, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, clientUrl), { ...tls, method: 'POST', headers: { 'content-type': 'application/json' }, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => {
        let parsed: { error?: string; message?: string } & T;
        try {
          parsed = JSON.parse(text) as typeof parsed;
        } catch {
          reject(new DroverError('DRV_ERR_BAD_GATEWAY', `etcd at ${clientUrl} answered ${path} with ${res.statusCode}: ${text.slice(0, 200)}`));
          return;
        }
        if (res.statusCode !== 200 || parsed.error) {
          reject(new DroverError('DRV_ERR_BAD_GATEWAY', `etcd at ${clientUrl} refused ${path}: ${parsed.message ?? parsed.error ?? res.statusCode}`));
        } else resolve(parsed);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new DroverError('DRV_ERR_GATEWAY_TIMEOUT', `etcd at ${clientUrl} did not answer ${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** etcd's members, from the first of `clientUrls` that answers. */
export async function listMembers(clientUrls: string[], tls: https.RequestOptions): Promise<{ clientUrl: string; members: Member[] }> {
  const errors: string[] = [];
  for (const clientUrl of clientUrls) {
    try {
      const answer = await etcdCall<MembersAnswer>(clientUrl, '/v3/cluster/member/list', {}, tls);
      return { clientUrl, members: answer.members ?? [] };
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', `no etcd member of the cluster answered: ${errors.join('; ') || 'no other etcd node is planned'}`);
}

/**
 * Makes `join` a member of the running etcd cluster and returns the `--initial-cluster`
 * flag its first start needs. Retries (a member not up yet, an add refused for quorum)
 * until `wait.deadlineMs` (or the node agent stops), then fails with the last reason.
 */
export async function joinEtcd(
  join: EtcdJoin, tls: https.RequestOptions, wait: { deadlineMs: number; stopped: () => boolean; log: (message: string) => void },
): Promise<string> {
  let last = '';
  for (;;) {
    if (wait.stopped()) throw new DroverError('DRV_ERR_SESSION_CLOSED', 'the node agent stopped before this etcd member joined the cluster');
    try {
      const { clientUrl, members } = await listMembers(join.clientUrls, tls);
      const listed = members.some((m) => m.peerURLs?.includes(join.peerUrl))
        ? members
        : (await etcdCall<MembersAnswer>(clientUrl, '/v3/cluster/member/add', { peerURLs: [join.peerUrl] }, tls)).members ?? [];
      return initialCluster(listed, join);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== last) wait.log(`cannot join the etcd cluster yet (retrying): ${message}`);
      last = message;
    }
    if (Date.now() > wait.deadlineMs) {
      throw new DroverError('DRV_ERR_PROVISIONING_FAILED', `this etcd member could not join the cluster's etcd: ${last}. The node that started it (the seed) must be running, `
        + 'and every member added before this one must have started');
    }
    await sleep(2_000);
  }
}

/** `--initial-cluster` as `etcdctl member add` prints it: every member's peer URLs, this node (and any unstarted one) under its name. */
export function initialCluster(members: Member[], join: EtcdJoin): string {
  const entries = members.flatMap((m) => (m.peerURLs ?? []).map((url) => `${m.peerURLs?.includes(join.peerUrl) ? join.name : m.name ?? ''}=${url}`));
  if (!entries.some((e) => e === `${join.name}=${join.peerUrl}`)) {
    throw new DroverError('DRV_ERR_BAD_GATEWAY', `etcd's member list does not hold this node's peer URL ${join.peerUrl} after adding it`);
  }
  return `--initial-cluster=${entries.join(',')}`;
}

/** Removes the members with any of `peerUrls` (nodes that left the etcd role), asking `clientUrl`; returns the names removed. */
export async function removeMembers(clientUrl: string, peerUrls: string[], tls: https.RequestOptions): Promise<string[]> {
  const { members } = await listMembers([clientUrl], tls);
  const removed: string[] = [];
  for (const member of members.filter((m) => m.ID && m.peerURLs?.some((url) => peerUrls.includes(url)))) {
    await etcdCall(clientUrl, '/v3/cluster/member/remove', { ID: member.ID }, tls);
    removed.push(member.name || (member.peerURLs ?? []).join(','));
  }
  return removed;
}
