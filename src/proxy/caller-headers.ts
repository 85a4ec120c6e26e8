/**
 * Scrubbing what the caller sent before anything goes downstream.
 *
 * The outgoing request is built from a fresh header list: nothing that can choose
 * an identity survives (Authorization, cookies, every Impersonate-* and front-proxy
 * X-Remote-* header, in any letter case and however often repeated), nor any
 * hop-by-hop header or header the caller named in `Connection`. Our own identity is
 * added later, at egress, to this clean list, so no later hop-by-hop processing can
 * strip it (CVE-2021-31999: a client listed Impersonate-User in Connection and the
 * proxy dropped the identity it had set itself).
 *
 * WebSocket subprotocols that carry a credential are dropped too: the UI's CSRF token
 * (`csrf.drover.io.<token>`) and a bearer token (`base64url.bearer.authorization.k8s.io.<token>`,
 * which kube-apiserver would authenticate); the real protocols (`v5.channel.k8s.io`) pass.
 *
 * What the caller asked to impersonate (`kubectl --as/--as-group`) is returned
 * separately, parsed as kube-apiserver parses it, so the proxy can authorize it
 * with SubjectAccessReviews instead of passing it on.
 */
import { DroverError } from '../errors/index.ts';
import type { RequestedImpersonation } from '../impersonation/index.ts';
import { csrfProtocolPrefix } from '../http/index.ts';

export type { RequestedImpersonation };


export interface ScrubbedRequest {
  /** Headers to forward, lower-case names, in the caller's order; repeats kept. */
  forward: Array<[string, string]>;
  /** The protocol the caller asked to upgrade to (exec, attach, port-forward), if any. */
  upgrade?: string;
  /** What the caller asked to impersonate, if it sent any Impersonate-* header. */
  impersonation?: RequestedImpersonation;
}

/** Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1, plus legacy ones). */
const hopByHop = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'http2-settings', 'host', 'expect',
]);

/** Headers that could select or assert an identity downstream or in audit logs (Audit-ID is ours to set). */
function isIdentityHeader(name: string): boolean {
  return name === 'authorization' || name === 'audit-id' || name === 'proxy-authorization' || name === 'cookie'
    || name.startsWith('impersonate-') || name.startsWith('x-remote-')
    || name === 'forwarded' || name.startsWith('x-forwarded-') || name === 'x-real-ip';
}

const credentialProtocols = [csrfProtocolPrefix, 'base64url.bearer.authorization.k8s.io.'];

/** A Sec-WebSocket-Protocol value without the entries that carry a credential; undefined when none is left. */
function withoutCredentialProtocols(value: string): string | undefined {
  const kept = value.split(',').map((p) => p.trim()).filter((p) => p !== '' && !credentialProtocols.some((prefix) => p.toLowerCase().startsWith(prefix)));
  return kept.length === 0 ? undefined : kept.join(', ');
}

/** Scrubs Node's `rawHeaders` (name, value, name, value, ...). */
export function scrubCallerHeaders(rawHeaders: readonly string[]): ScrubbedRequest {
  const named = new Set<string>();
  let upgrade: string | undefined;
  let wantsUpgrade = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const value = rawHeaders[i + 1] ?? '';
    if (name === 'connection' || name === 'proxy-connection') {
      for (const token of value.split(',')) {
        const t = token.trim().toLowerCase();
        if (t === 'upgrade') wantsUpgrade = true;
        else if (t) named.add(t);
      }
    } else if (name === 'upgrade') {
      upgrade = value.trim();
    }
  }

  const forward: Array<[string, string]> = [];
  const impersonate: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const value = rawHeaders[i + 1] ?? '';
    if (name.startsWith('impersonate-')) impersonate.push([name, value]);
    if (hopByHop.has(name) || named.has(name) || isIdentityHeader(name)) continue;
    if (name === 'sec-websocket-protocol') {
      const kept = withoutCredentialProtocols(value);
      if (kept !== undefined) forward.push([name, kept]);
      continue;
    }
    forward.push([name, value]);
  }
  return {
    forward,
    ...(wantsUpgrade && upgrade ? { upgrade } : {}),
    ...(impersonate.length > 0 ? { impersonation: parseImpersonation(impersonate) } : {}),
  };
}

/**
 * An impersonation header's value as kube-apiserver reads it. Node hands header bytes over
 * as latin1 and Go reads them as UTF-8, so `évil` sent as UTF-8 arrives here as `Ã©vil`: the
 * SubjectAccessReview would check one name and the cluster would impersonate another. The
 * value is decoded as UTF-8 for every check, and `impersonationHeaderValue` writes the same
 * bytes back out; bytes that are not UTF-8, and control characters, are refused.
 */
function impersonationText(name: string, value: string): string {
  const bytes = Buffer.from(value, 'latin1');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes) || bytes.some((byte) => byte < 0x20 || byte === 0x7f)) {
    throw new DroverError('DRV_ERR_BAD_REQUEST', `the ${name} header is not UTF-8 text without control characters; send the name as kubectl does`);
  }
  return text;
}

/** The bytes of an impersonation value for the outgoing request, as a latin1 string (how Node and undici write header bytes). */
export function impersonationHeaderValue(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** kube-apiserver's rules: one user, at most one uid, groups/extras/uid only with a user. */
function parseImpersonation(rawHeaders: Array<[string, string]>): RequestedImpersonation {
  const headers = rawHeaders.map(([name, value]): [string, string] => [name, impersonationText(name, value)]);
  const users: string[] = [];
  const uids: string[] = [];
  const groups: string[] = [];
  const extras: Record<string, string[]> = {};
  for (const [name, value] of headers) {
    if (name === 'impersonate-user') users.push(value);
    else if (name === 'impersonate-uid') uids.push(value);
    else if (name === 'impersonate-group') groups.push(value);
    else if (name.startsWith('impersonate-extra-')) {
      const key = decodeExtraKey(name.slice('impersonate-extra-'.length));
      (extras[key] ??= []).push(value);
    } else {
      throw new DroverError('DRV_ERR_BAD_REQUEST', `unknown impersonation header ${JSON.stringify(name.slice(0, 64))}`);
    }
  }
  if (users.length !== 1 || !users[0]) {
    throw new DroverError('DRV_ERR_BAD_REQUEST', 'impersonation needs exactly one non-empty Impersonate-User header');
  }
  if (uids.length > 1) throw new DroverError('DRV_ERR_BAD_REQUEST', 'at most one Impersonate-Uid header is allowed');
  return { user: users[0], ...(uids[0] ? { uid: uids[0] } : {}), groups, extras };
}

function decodeExtraKey(raw: string): string {
  let key: string;
  try {
    key = decodeURIComponent(raw).toLowerCase();
  } catch {
    throw new DroverError('DRV_ERR_BAD_REQUEST', 'an Impersonate-Extra-* header name is not valid percent-encoding');
  }
  if (!key || key.includes('/')) {
    throw new DroverError('DRV_ERR_BAD_REQUEST', 'Impersonate-Extra-* keys must be non-empty and contain no "/"');
  }
  return key;
}
