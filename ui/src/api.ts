/** The REST client: same-origin fetch with the session cookie and the CSRF header; errors become ApiError with the server's words. */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrfToken: string | undefined;
let onUnauthenticated: () => void = () => undefined;

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** What a WebSocket offers besides its real subprotocol: the CSRF token, the one thing a browser WebSocket can carry (src/http/session.ts). */
export function csrfSubprotocols(): string[] {
  return csrfToken === undefined ? [] : [`csrf.drover.io.${csrfToken}`];
}

/** Called once a request answers 401 (session expired or revoked). */
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { code?: string; message?: string; reason?: string };
    return new ApiError(res.status, body.code ?? body.reason ?? `HTTP ${res.status}`, body.message ?? res.statusText);
  } catch {
    return new ApiError(res.status, `HTTP ${res.status}`, res.status === 502 || res.status === 503 ? 'the server is not reachable right now' : `the server answered ${res.status} ${res.statusText}`);
  }
}

/** A same-origin request with the session cookie and the CSRF header; a non-2xx answer throws ApiError in the server's words. */
export async function request(method: string, path: string, init: { headers?: Record<string, string>; body?: string; signal?: AbortSignal; keepalive?: boolean } = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  if (csrfToken !== undefined) headers['x-drover-csrf'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', ...(init.body === undefined ? {} : { body: init.body }), ...(init.signal ? { signal: init.signal } : {}), ...(init.keepalive ? { keepalive: true } : {}) });
  } catch (e) {
    if (init.signal?.aborted) throw e;
    throw new ApiError(0, 'NETWORK', 'could not reach the Drover server; check your connection');
  }
  if (!res.ok) {
    const error = await errorOf(res);
    if (res.status === 401 && !path.startsWith('/v1/session')) onUnauthenticated();
    throw error;
  }
  return res;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await request(method, path, body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status === 204) return undefined as T;
  return await res.json() as T;
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => api<T>('POST', path, body ?? {});

export const q = encodeURIComponent;

export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'something went wrong';
}
