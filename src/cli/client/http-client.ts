/**
 * The CLI's HTTPS client for the Drover API: trusts exactly the pinned CA when
 * there is one (never a silent fallback to the system store), the system store
 * otherwise, or nothing with --insecure-skip-tls-verify. Error answers become
 * DroverErrors with the server's code and message.
 */
import { createHash } from 'node:crypto';
import { connect } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { DroverError, errorCodes, type ErrorCode } from '../../errors/index.ts';

export interface ClientOptions {
  server: string;
  token?: string;
  caPem?: string;
  insecureSkipTlsVerify?: boolean;
  /** Give up connecting or waiting for the answer's head after this long (default: undici's). */
  timeoutMs?: number;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function agentFor(options: { caPem?: string; insecureSkipTlsVerify?: boolean; timeoutMs?: number }): Agent {
  return new Agent({
    connect: {
      ...(options.caPem ? { ca: options.caPem } : {}),
      rejectUnauthorized: options.insecureSkipTlsVerify !== true,
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    },
    ...(options.timeoutMs === undefined ? {} : { headersTimeout: options.timeoutMs }),
  });
}

function unreachable(server: string, error: unknown): DroverError {
  const cause = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = cause.cause?.code ?? cause.code ?? '';
  const detail = cause.cause?.message ?? cause.message ?? String(error);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new DroverError('DRV_ERR_BAD_GATEWAY', `cannot verify ${server}'s certificate (${code}): pass --ca-file, or --ca-checksum with the sha256 of ${server}/cacerts`, { cause: error });
  }
  return new DroverError('DRV_ERR_SERVER_UNAVAILABLE', `cannot reach ${server}: ${detail}`, { cause: error });
}

export class DroverClient {
  private readonly server: string;
  private readonly token: string | undefined;
  private readonly dispatcher: Dispatcher;

  constructor(options: ClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.token = options.token;
    this.dispatcher = agentFor(options);
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.server}${path}`, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          accept: 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw unreachable(this.server, error);
    }
    const text = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode < 300) return (text === '' ? undefined : JSON.parse(text)) as T;
    throw answerError(response.statusCode, text);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function answerError(status: number, text: string): DroverError {
  try {
    const parsed = JSON.parse(text) as { code?: string; message?: string };
    if (parsed.code && parsed.code in errorCodes && typeof parsed.message === 'string') return new DroverError(parsed.code as ErrorCode, parsed.message);
  } catch {
    // Not our JSON: a proxy or another server answered.
  }
  return new DroverError(status >= 500 ? 'DRV_ERR_BAD_GATEWAY' : 'DRV_ERR_BAD_REQUEST', `server answered HTTP ${status}`);
}

/**
 * Fetches /cacerts without verification. The bytes are trusted only once their
 * sha256 matched a checksum the user was given (`fetchPinnedCa`) or the person at
 * the terminal accepted it (trust on first use).
 */
export async function fetchCaUnverified(server: string): Promise<string> {
  const agent = agentFor({ insecureSkipTlsVerify: true });
  try {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${server.replace(/\/+$/, '')}/cacerts`, { dispatcher: agent });
    } catch (error) {
      throw unreachable(server, error);
    }
    const pem = await response.body.text();
    if (response.statusCode !== 200) throw new DroverError('DRV_ERR_BAD_GATEWAY', `${server}/cacerts answered HTTP ${response.statusCode}`);
    return pem;
  } finally {
    await agent.close();
  }
}

/** /cacerts, accepted only if its sha256 is `checksum`: the bytes are then the trust anchor for every later call. */
export async function fetchPinnedCa(server: string, checksum: string): Promise<string> {
  const pem = await fetchCaUnverified(server);
  const actual = sha256Hex(pem);
  if (actual !== checksum.trim().toLowerCase()) {
    throw new DroverError('DRV_ERR_CA_CHECKSUM_MISMATCH', `the server's CA checksum (${actual}) does not match --ca-checksum (${checksum}): check the URL and the checksum`);
  }
  return pem;
}

/** Whether the server's certificate verifies against this machine's trust store (a public or company CA). */
export function systemTrusts(server: string): Promise<boolean> {
  const url = new URL(server);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(url.port || 443), servername: /^[\d.]+$|:/.test(host) ? '' : host, rejectUnauthorized: false }, () => {
      resolve(socket.authorized);
      socket.destroy();
    });
    socket.once('error', (error) => reject(unreachable(server, error)));
  });
}
