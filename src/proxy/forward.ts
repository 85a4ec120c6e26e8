/**
 * The last step of the proxy chain: send the request downstream with the identity
 * the chain decided, and stream the answer back.
 *
 * Responses are streamed chunk by chunk with no buffering, so watches and
 * `logs -f` flow as kube-apiserver writes them. Redirects are passed back, never
 * followed; a Location pointing at the cluster's own apiserver is rewritten to the
 * proxy path, and one pointing anywhere else is dropped, so a compromised
 * downstream cannot send clients and their credentials to a third party
 * (CVE-2020-8559, CVE-2022-3172).
 *
 * The answer is served from Drover's own origin, where the web UI's session lives,
 * and through the `proxy` subresources it can be anything a pod writes. So a downstream
 * `Set-Cookie` is dropped (a pod must not plant or overwrite Drover's cookies), and
 * every answer carries `X-Content-Type-Options: nosniff` and a sandboxing CSP: a
 * pod's page still renders and runs its scripts, but in an opaque origin that cannot
 * read Drover's cookies or call Drover's API as the viewer.
 */
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import { DroverError } from '../shared/errors.ts';
import { writeKubeStatus } from './kube-status.ts';

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  pool: Dispatcher;
  /** Path and query for kube-apiserver. */
  downstreamPath: string;
  /** The complete outgoing header list: scrubbed caller headers plus our identity. */
  headers: Array<[string, string]>;
  /** `/k8s/clusters/<id>`: where this cluster's API lives on the proxy, for Location rewriting. */
  proxyPrefix: string;
  /** The apiserver origin the pool talks to, to recognise its own absolute Locations. */
  upstreamOrigin: string;
}

/** The smallest abort signal undici accepts: an emitter of 'abort' with an `aborted` flag. */
class AbortEmitter extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** Response headers that describe the upstream connection, not the response, or that must not reach Drover's origin. */
const droppedResponse = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'set-cookie']);

/** Keeps downstream content out of Drover's origin (see the module comment); added to any CSP the answer has. */
export const SANDBOX_POLICY = 'sandbox allow-scripts allow-forms allow-popups allow-downloads';

/** Identity headers must be ours alone: re-checked right before the request leaves. */
export function assertOnlyOurIdentity(headers: Array<[string, string]>, ours: ReadonlySet<string>): void {
  for (const [name] of headers) {
    const n = name.toLowerCase();
    const isIdentity = n === 'authorization' || n === 'cookie' || n.startsWith('impersonate-') || n.startsWith('x-remote-');
    if (isIdentity && !ours.has(n)) {
      throw new DroverError('DRV_ERR_INTERNAL', `refusing to forward caller identity header ${n}`);
    }
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export async function forwardRequest(input: ForwardRequest): Promise<void> {
  const { req, res } = input;
  // A client that goes away (kubectl ^C on a watch) must release the upstream stream.
  // undici takes an EventEmitter as its signal: far cheaper per request than an AbortController.
  const abort = new AbortEmitter();
  res.once('close', () => { if (!res.writableFinished) abort.abort(); });
  try {
    await input.pool.stream({
      method: req.method as Dispatcher.HttpMethod,
      path: input.downstreamPath,
      headers: input.headers.flat(),
      body: hasBody(req) ? req : null,
      signal: abort,
      opaque: res,
    }, ({ statusCode, headers }) => {
      res.writeHead(statusCode, responseHeaders(headers, input));
      // A streamed answer (a watch, `logs -f`: no Content-Length) gets its head now, as
      // its first event may be minutes away. A sized answer sends head and body in one
      // write: one TLS record and one packet fewer per request.
      if (headers['content-length'] === undefined) res.flushHeaders();
      return res;
    });
  } catch (error) {
    if (abort.aborted) return;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    writeKubeStatus(res, error instanceof DroverError ? error
      : new DroverError('DRV_ERR_BAD_GATEWAY', `the cluster did not answer: ${(error as Error).message}`, { cause: error }));
  }
}

/** What a Location is resolved against and mapped onto. */
export type LocationContext = Pick<ForwardRequest, 'proxyPrefix' | 'upstreamOrigin' | 'downstreamPath'>;

export function responseHeaders(headers: Record<string, string | string[] | undefined>, input: LocationContext): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  // Headers the upstream named in Connection are hop-by-hop too (RFC 9110 7.6.1).
  const connection = headers.connection;
  const listed = connection === undefined ? undefined
    : new Set([connection].flat().flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()));
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || droppedResponse.has(name) || listed?.has(name)) continue;
    if (name === 'location') {
      const location = rewriteLocation(Array.isArray(value) ? value[0] ?? '' : value, input);
      if (location !== undefined) out.location = location;
      continue;
    }
    out[name] = value;
  }
  out['x-content-type-options'] = 'nosniff';
  const policy = out['content-security-policy'];
  // A comma separates policies in one header; every policy is enforced, so ours only narrows the pod's.
  out['content-security-policy'] = policy === undefined ? SANDBOX_POLICY : [...[policy].flat().map(String), SANDBOX_POLICY].join(', ');
  return out;
}

/**
 * Relative and same-apiserver Locations map onto the proxy; foreign ones are dropped.
 * A relative one is resolved against the request it answers, as the client would
 * (RFC 9110 10.2.2): `proxy/` from `.../pods/p/` means `.../pods/p/proxy/`.
 */
export function rewriteLocation(location: string, input: LocationContext): string | undefined {
  let url: URL;
  let upstream: string;
  try {
    upstream = new URL(input.upstreamOrigin).origin;
    url = new URL(location, `${upstream}${input.downstreamPath}`);
  } catch {
    return undefined;
  }
  if (url.origin !== upstream) return undefined;
  return `${input.proxyPrefix}${url.pathname}${url.search}`;
}
