/**
 * What a Kubernetes call can fail with: the API answered an error (KubeApiError, with
 * Kubernetes' own Status), the server could not be reached or timed out (a
 * DroverError naming the server), or the client was closed.
 */
import { DroverError } from '../errors/index.ts';
import type { Status, StatusDetails } from './types.ts';

/** A non-2xx answer from kube-apiserver (or an ERROR event in a watch). */
export class KubeApiError extends DroverError {
  /** The HTTP status Kubernetes answered (404, 409, 410, ...), not the code's 502. */
  override readonly status: number;
  /** Kubernetes' machine-readable reason: NotFound, AlreadyExists, Conflict, Forbidden, Expired, ... */
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  readonly kubeStatus: Status;

  constructor(status: number, kubeStatus: Status, what: string) {
    const reason = kubeStatus.reason ?? (status === 404 ? 'NotFound' : 'Unknown');
    const detail = kubeStatus.message ?? `HTTP ${status}`;
    super('DRV_ERR_KUBE_API', `${what}: ${reason} (${status}): ${detail}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.details = kubeStatus.details;
    this.kubeStatus = kubeStatus;
  }
}

export function isKubeApiError(error: unknown, status?: number): error is KubeApiError {
  return error instanceof KubeApiError && (status === undefined || error.status === status);
}

/** 410 Gone / Expired: a watch or list resourceVersion is too old; the caller must relist. */
export function isResourceExpired(error: unknown): boolean {
  return error instanceof KubeApiError && (error.status === 410 || error.reason === 'Expired' || error.reason === 'Gone');
}

/** Turns whatever came back as an error body into a Status, keeping what we can. */
export function statusFromBody(status: number, body: string): Status {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind === 'Status') return parsed;
  } catch {
    // Not JSON (a proxy or a tunnel answered): keep a short excerpt as the message.
  }
  return { kind: 'Status', status: 'Failure', code: status, message: body.slice(0, 300) || `HTTP ${status}` };
}

const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** A connection-level failure, as a DroverError that names the server and says what to check. */
export function kubeNetworkError(server: string, what: string, cause: unknown): DroverError {
  const code = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (typeof code === 'string' && timeoutCodes.has(code)) {
    return new DroverError('DRV_ERR_GATEWAY_TIMEOUT',
      `${what}: the Kubernetes API at ${server} did not answer in time (${message}); check the cluster's health and the timeout`, { cause });
  }
  return new DroverError('DRV_ERR_BAD_GATEWAY',
    `${what}: cannot reach the Kubernetes API at ${server} (${message}); check the server address, its CA and that the cluster or its tunnel is up`, { cause });
}
