/**
 * `--audit-webhook-config FILE`: events posted in batches to an HTTPS receiver named by a
 * kubeconfig, the format kube-apiserver's audit webhook uses (the current context's
 * cluster `server`, `certificate-authority[-data]`; the user's `token` or
 * `client-certificate[-data]` + `client-key[-data]`). Each POST is an
 * `audit.k8s.io/v1` `EventList`, so receivers written for kube-apiserver take it as is.
 *
 * Never in a request's way: events wait in a bounded queue (`BufferedSink`), a batch is
 * sent after `batchWaitMs` or at `maxBatch` events, and a failed batch is retried with
 * doubling waits (network errors, 429 and 5xx; another 4xx would fail the same way
 * again). While it retries, new events queue; when the queue is full they are dropped
 * and counted, as is a batch that failed every retry.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { InvalidArgumentError } from '../errors/index.ts';
import { BufferedSink } from './buffered-sink.ts';

export interface WebhookTarget {
  url: string;
  ca?: string;
  token?: string;
  cert?: string;
  key?: string;
}

interface KubeconfigShape {
  'current-context'?: string;
  clusters?: Array<{ name?: string; cluster?: Record<string, unknown> }>;
  users?: Array<{ name?: string; user?: Record<string, unknown> }>;
  contexts?: Array<{ name?: string; context?: { cluster?: string; user?: string } }>;
}

/** Reads the receiver from a kubeconfig, as kube-apiserver's `--audit-webhook-config-file`. */
export function webhookTargetFromKubeconfig(file: string): WebhookTarget {
  const option = '--audit-webhook-config';
  let doc: KubeconfigShape;
  try {
    doc = parseYaml(readFileSync(file, 'utf8')) as KubeconfigShape;
  } catch (error) {
    throw new InvalidArgumentError(option, 'a readable kubeconfig file', `${file} (${(error as Error).message})`);
  }
  const contextName = doc['current-context'] ?? doc.contexts?.[0]?.name;
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  const cluster = (context ? doc.clusters?.find((c) => c.name === context.cluster) : doc.clusters?.[0])?.cluster;
  const user = (context ? doc.users?.find((u) => u.name === context.user) : doc.users?.[0])?.user ?? {};
  const server = cluster?.server;
  if (typeof server !== 'string' || !server.startsWith('https://')) throw new InvalidArgumentError(`${option} ${file}: clusters[].cluster.server`, 'an https:// URL', server);
  const relative = (path: string): string => (isAbsolute(path) ? path : join(dirname(file), path));
  const material = (fields: Record<string, unknown>, data: string, path: string): string | undefined => {
    if (typeof fields[data] === 'string') return Buffer.from(fields[data], 'base64').toString('utf8');
    if (typeof fields[path] === 'string') return readFileSync(relative(fields[path]), 'utf8');
    return undefined;
  };
  const target: WebhookTarget = { url: server };
  const ca = material(cluster ?? {}, 'certificate-authority-data', 'certificate-authority');
  const cert = material(user, 'client-certificate-data', 'client-certificate');
  const key = material(user, 'client-key-data', 'client-key');
  if (ca) target.ca = ca;
  if (cert && key) Object.assign(target, { cert, key });
  if (typeof user.token === 'string') target.token = user.token;
  return target;
}

export interface WebhookSinkOptions {
  target: WebhookTarget;
  maxBuffered: number;
  maxBatch?: number;
  batchWaitMs?: number;
  /** Tries per batch, the first included. */
  maxAttempts?: number;
  /** The first wait between tries; it doubles up to 30 s. */
  initialBackoffMs?: number;
  onDrop: (count: number) => void;
  onError: (error: unknown) => void;
}

class WebhookError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

export function webhookSink(options: WebhookSinkOptions): BufferedSink<string> {
  const { target } = options;
  const agent = new Agent({ connect: { ...(target.ca ? { ca: target.ca } : {}), ...(target.cert && target.key ? { cert: target.cert, key: target.key } : {}) } });
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) };
  const post = async (lines: string[]): Promise<void> => {
    const body = `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[${lines.join(',')}]}`;
    let res;
    try {
      res = await request(target.url, { method: 'POST', headers, body, dispatcher: agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
    } catch (error) {
      throw new WebhookError(`audit webhook ${target.url} could not be reached: ${(error as Error).message}`, true);
    }
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return;
    throw new WebhookError(`audit webhook ${target.url} answered ${res.statusCode}; check the receiver`, res.statusCode === 429 || res.statusCode >= 500);
  };
  const flush = async (lines: string[]): Promise<void> => {
    const attempts = options.maxAttempts ?? 5;
    let wait = options.initialBackoffMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      try {
        await post(lines);
        return;
      } catch (error) {
        if (!(error instanceof WebhookError) || !error.retryable || attempt >= attempts) {
          options.onDrop(lines.length);
          throw error;
        }
        await sleep(wait);
        wait = Math.min(wait * 2, 30_000);
      }
    }
  };
  return new BufferedSink<string>({
    map: (line) => line, flush, maxBuffered: options.maxBuffered, maxBatch: options.maxBatch ?? 400, batchDelayMs: options.batchWaitMs ?? 1000,
    onDrop: options.onDrop, onError: options.onError, release: () => agent.close(),
  });
}
