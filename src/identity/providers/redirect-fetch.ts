/**
 * HTTPS to an identity provider (OIDC issuer, GitHub): undici with the system
 * roots, or with exactly the configured CA for a private issuer. Verification is
 * never turned off. A connection failure or a timeout becomes
 * DRV_ERR_PROVIDER_UNAVAILABLE (502), so "the provider is down" reads differently
 * from "the provider said no".
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { DroverError } from '../../errors/index.ts';

/** `fetch` as the providers use it (the WHATWG shape, so openid-client can take it as its customFetch). */
export type ProviderFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

export interface ProviderHttp {
  fetch: ProviderFetch;
  close(): Promise<void>;
}

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** True when `error` (or a cause of it) says the provider could not be reached, as opposed to answering. */
export function isUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (networkCodes.has(code) || code.startsWith('UND_ERR_') || code.startsWith('ERR_TLS') || code.includes('CERT'))) return true;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
  }
  return false;
}

export function unavailable(provider: string, error: unknown): DroverError {
  const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
  return new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `the ${provider} identity provider could not be reached (${reason}); check its address and CA, or try again later`);
}

/** A fetch bound to one CA (or the system roots), with a per-request timeout. */
export function providerHttp(options: { caPem?: string; timeoutMs?: number }): ProviderHttp {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const agent = new Agent({
    connect: { ...(options.caPem ? { ca: options.caPem } : {}), timeout: timeoutMs },
    headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
  });
  const fetch: ProviderFetch = async (url, init) => {
    const signal = init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    // undici's own Response is the WHATWG Response; the cast only bridges the two type packages.
    const response = await undiciFetch(url, { ...(init as object), signal, dispatcher: agent, redirect: 'manual' });
    return response;
  };
  return { fetch, close: () => agent.close() };
}
