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
 *
 * Only the wait for the response head is bounded (`responseHeaderTimeoutMs`, the
 * server's `--proxy-response-header-timeout`): a cluster that never answers gets the
 * caller a 504 naming it, while a watch or `logs -f` whose head came may then stay
 * quiet for hours. The exchange can be ended from outside (`EndStream`, when access
 * is taken away): the caller gets the reason as a Status if no head was sent yet,
 * else the body ends cleanly (its last chunk), and the upstream request is aborted,
 * which releases its connection and tunnel stream.
 */
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { DroverError } from '../errors/index.ts';
import { writeKubeStatus } from './kube-status.ts';
import type { EndStream } from './open-streams.ts';

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  pool: Dispatcher;
  /** Which cluster answers, to name it in errors. */
  clusterId: string;
  /** Path and query for kube-apiserver. */
  downstreamPath: string;
  /** The complete outgoing header list: scrubbed caller headers plus our identity. */
  headers: Array<[string, string]>;
  /** `/k8s/clusters/<id>`: where this cluster's API lives on the proxy, for Location rewriting. */
  proxyPrefix: string;
  /** The apiserver origin the pool talks to, to recognise its own absolute Locations. */
  upstreamOrigin: string;
  /** How long to wait for the response head once the request is sent (ms); 0 or absent: no bound. */
  responseHeaderTimeoutMs?: number;
  /** Told about the exchange as it passes (the audit record); it never delays it. */
  observer?: ExchangeObserver;
  /** After access ends, how long a caller that stopped reading may keep the connection before it is cut (ms; default 5 s). */
  endedDrainMs?: number;
}

/** What an observer of an exchange (audit) sees: the request body goes through `body`, the answer is reported. */
export interface ExchangeObserver {
  body?(req: IncomingMessage): Readable;
  onResponseStart?(status: number, headers: Record<string, string | string[] | undefined>): void;
  onResponseData?(chunk: Buffer): void;
  /** An upgrade went through: the two sockets, already piped to each other, and the protocol the cluster chose. */
  onUpgraded?(caller: Duplex, upstream: Duplex, protocol: string | undefined): void;
}

/**
 * A replica's answer to a request another replica relayed to it, for a cluster it serves no
 * more (src/replicas/relay.ts): the relaying replica then tries elsewhere. Dropped from every
 * cluster's answers, so a cluster cannot send a relayed request around the replicas.
 */
export const misdirectedHeader = 'x-drover-misdirected';

/** Response headers that describe the upstream connection, not the response, or that must not reach Drover's origin (or its replicas). */
const droppedResponse = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'set-cookie', misdirectedHeader]);

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

/** Whether a request carries a body (RFC 9112 6.3: only Content-Length or Transfer-Encoding announce one). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The 504 for a cluster that sent no response head in time. */
export function noAnswerInTime(clusterId: string, timeoutMs: number): DroverError {
  return new DroverError('DRV_ERR_GATEWAY_TIMEOUT', `cluster ${clusterId} sent no response within ${timeoutMs / 1000} s: `
    + `its kube-apiserver may be stopped or overloaded; check "drover clusters get ${clusterId}" and the agent's log, then retry`);
}

/** What the caller is told when the cluster fails before answering: which cluster, and what to check. */
export function downstreamFailure(error: unknown, clusterId: string, timeoutMs = 0): DroverError {
  const code = (error as { code?: unknown }).code;
  // The wait for headers timed out, or (pooled requests) the TLS handshake did: the same bound.
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'DRV_ERR_GATEWAY_TIMEOUT') return noAnswerInTime(clusterId, timeoutMs);
  // Anything else DroverError already says what to do (503 agent not connected, 500 internal).
  if (error instanceof DroverError && error.code !== 'DRV_ERR_BAD_GATEWAY') return error;
  return new DroverError('DRV_ERR_BAD_GATEWAY', `the connection to cluster ${clusterId} failed before it answered (${(error as Error).message}): `
    + `its agent may have disconnected; check "drover clusters get ${clusterId}" and retry`, { cause: error });
}

/**
 * Relays one exchange from undici to the caller's response, chunk by chunk with
 * backpressure. `stopped` is set once the exchange is over for us (the caller left,
 * or access ended); whatever undici reports after that is ignored.
 */
class Relay implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private stopped: Error | undefined;
  /** Body chunks of the current tick, not yet written (see onResponseData). */
  private pending: Buffer[] = [];

  constructor(private readonly input: ForwardRequest) {
    const { res } = input;
    // A client that goes away (kubectl ^C on a watch) must release the upstream stream.
    res.once('close', () => { if (!res.writableFinished) this.stop(new Error('the caller closed the connection')); });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.stopped) controller.abort(this.stopped);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    // 1xx (100 Continue) are hop-by-hop interim answers: the caller's own server sent its own.
    if (statusCode < 200 || this.stopped) return;
    const { res } = this.input;
    this.input.observer?.onResponseStart?.(statusCode, headers);
    res.writeHead(statusCode, responseHeaders(headers, this.input));
    // A streamed answer (a watch, `logs -f`: no Content-Length) gets its head now, as
    // its first event may be minutes away. A sized answer sends head and body in one
    // write: one TLS record and one packet fewer per request.
    if (headers['content-length'] === undefined) res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.stopped) return;
    // The audit trail's exec recorder and its size counts see every chunk as it arrives.
    this.input.observer?.onResponseData?.(chunk);
    // kube-apiserver writes a LIST item by item, and undici hands us every item it
    // parsed from one read in the same tick. Gathered until the tick ends, they leave
    // as one write (one chunk, one TLS record, one syscall) instead of one each.
    // Nothing waits past the current tick, so watches still flow event by event.
    this.pending.push(chunk);
    if (this.pending.length === 1) process.nextTick(() => this.flush(controller));
  }

  onResponseEnd(): void {
    this.flush();
    if (!this.stopped) this.input.res.end();
  }

  /** Writes what this tick gathered; a full socket pauses the upstream until it drains. */
  private flush(controller?: Dispatcher.DispatchController): void {
    const chunks = this.pending;
    if (chunks.length === 0) return;
    this.pending = [];
    if (this.stopped) return;
    const { res } = this.input;
    if (!res.write(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)) && controller) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.stopped) return;
    this.stopped = error;
    // After the head this cuts the body (writeKubeStatus destroys the response), so the caller cannot take part of it for all of it.
    writeKubeStatus(this.input.res, downstreamFailure(error, this.input.clusterId, this.input.responseHeaderTimeoutMs));
  }

  /** Access ended: the reason as a Status before the head, else a cleanly ended body; the upstream is aborted. */
  end(why: DroverError): void {
    const { res } = this.input;
    if (this.stopped || res.writableEnded) return;
    this.flush();
    this.stop(why);
    if (!res.headersSent) return writeKubeStatus(res, why);
    res.end();
    // A caller that stopped reading never lets the end leave, and would keep the connection and
    // what is queued for it for as long as it likes: cut it once the drain time is up.
    const cut = setTimeout(() => { if (!res.writableFinished) res.destroy(); }, this.input.endedDrainMs ?? 5_000);
    cut.unref();
    res.once('close', () => clearTimeout(cut));
  }

  private stop(reason: Error): void {
    this.stopped = reason;
    this.controller?.abort(reason);
  }
}

/** Sends the request downstream and streams the answer back; returns what ends the exchange early. */
export function forwardRequest(input: ForwardRequest): EndStream {
  const relay = new Relay(input);
  input.pool.dispatch({
    method: input.req.method as Dispatcher.HttpMethod,
    path: input.downstreamPath,
    headers: input.headers.flat(),
    body: hasBody(input.req) ? input.observer?.body?.(input.req) ?? input.req : null,
    headersTimeout: input.responseHeaderTimeoutMs ?? 0,
    bodyTimeout: 0,
  }, relay);
  return (why) => relay.end(why);
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
