/**
 * Upgraded connections: exec, attach, cp and port-forward, over SPDY/3.1 or
 * WebSocket (`v5.channel.k8s.io`, kubectl's default since 1.30).
 *
 * Each upgrade gets a fresh connection to kube-apiserver, used for that one
 * exchange and never pooled. Only a 101 answer joins the two sockets; any other
 * answer is relayed to the caller with `Connection: close` and both sockets are
 * closed, so a failed upgrade can never leave a connection that later bytes ride
 * with our credentials (CVE-2018-1002105). When either side closes, both close.
 *
 * The wait for kube-apiserver's answer (dial, TLS, then the 101 or any other head) is
 * bounded by `responseHeaderTimeoutMs`, so a cluster that never answers gets the
 * caller a 504 naming it and releases the tunnel stream; once upgraded, an exec or
 * port-forward may stay idle as long as it likes. The exchange can be ended from
 * outside (`EndStream`, when access is taken away): before an answer the caller gets
 * the reason as a Status, after it both connections are destroyed.
 */
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { DroverError } from '../errors/index.ts';
import { connectTls, type UpstreamEndpoint } from './upstream.ts';
import { writeKubeStatusToSocket } from './kube-status.ts';
import { downstreamFailure, misdirectedHeader, noAnswerInTime, rewriteLocation, type ExchangeObserver } from './forward.ts';
import type { EndStream } from './open-streams.ts';

export interface UpgradeRequest {
  req: IncomingMessage;
  /** The caller's socket, detached from the HTTP server by the `upgrade` event. */
  socket: Duplex;
  /** Bytes the caller sent after its request head. */
  head: Buffer;
  endpoint: UpstreamEndpoint;
  /** Which cluster answers, to name it in errors. */
  clusterId: string;
  downstreamPath: string;
  /** Scrubbed caller headers plus our identity. */
  headers: Array<[string, string]>;
  /** The protocol the caller asked for (`Upgrade:`). */
  protocol: string;
  proxyPrefix: string;
  /** How long to wait for kube-apiserver's answer head, dial included (ms); 0 or absent: no bound. */
  responseHeaderTimeoutMs?: number;
  /** Told the status the caller got (the audit record). */
  observer?: Pick<ExchangeObserver, 'onResponseStart' | 'onUpgraded'>;
}

/** Real clients send nothing before the 101 (WebSocket and SPDY wait for it); more than this is refused. */
const maxEarlyBytes = 64 * 1024;

/** Starts the upgrade downstream; returns what ends the exchange early. */
export function forwardUpgrade(input: UpgradeRequest): EndStream {
  const { socket } = input;
  // The server hands the socket over paused, and a paused socket never notices its peer
  // leaving. So it is read from the start, keeping any early bytes for after the 101:
  // a caller that goes away before kube-apiserver answers is seen, and ends the upstream.
  const early = readEarlyBytes(socket);
  const state: Exchange = { abort: new AbortController(), answered: false };
  const release = (): void => {
    clearTimeout(state.timer);
    state.abort.abort();
    state.upstream?.destroy();
  };
  // From here to the end, the caller going away (mid-dial, before kube-apiserver answers,
  // or after) closes the upstream too: an exec must not keep running on a connection nobody holds.
  socket.once('close', release);
  // A caller's socket error is followed by its 'close'; without a listener it would throw.
  socket.on('error', () => socket.destroy());
  /** Ends the exchange: the caller gets `why` if it has had no answer yet, the upstream goes at once. */
  const end: EndStream = (why) => {
    release();
    if (state.answered) {
      socket.destroy();
      return;
    }
    state.answered = true;
    early.stop();
    input.observer?.onResponseStart?.(why.status, {});
    writeKubeStatusToSocket(socket, why);
  };
  const timeoutMs = input.responseHeaderTimeoutMs ?? 0;
  if (timeoutMs > 0) state.timer = setTimeout(() => end(noAnswerInTime(input.clusterId, timeoutMs)), timeoutMs);
  void sendUpgrade(input, state, early, end);
  return end;
}

interface Exchange {
  abort: AbortController;
  upstream?: Duplex;
  /** The caller has had the head of an answer (ours or kube-apiserver's): nothing more may be written before it. */
  answered: boolean;
  timer?: NodeJS.Timeout;
}

async function sendUpgrade(input: UpgradeRequest, state: Exchange, early: EarlyBytes, end: EndStream): Promise<void> {
  const { socket } = input;
  let tlsSocket;
  try {
    // Long-lived (exec, attach, port-forward, cp): on the tunnel session's stream, where the
    // agent's reset of the target cannot overtake the last bytes (src/tunnel/README.md).
    tlsSocket = await connectTls(input.endpoint, state.abort.signal, undefined, 'long-lived');
  } catch (error) {
    if (!state.abort.signal.aborted) end(downstreamFailure(error, input.clusterId));
    return;
  }
  if (state.abort.signal.aborted || socket.destroyed) {
    tlsSocket.destroy();
    return;
  }
  state.upstream = tlsSocket;
  const request = httpsRequest({
    method: input.req.method,
    path: input.downstreamPath,
    headers: { ...toHeaderObject(input.headers), connection: 'Upgrade', upgrade: input.protocol },
    // No agent: this one connection serves this one exchange and is never pooled.
    createConnection: () => tlsSocket,
  });
  const closeBoth = (): void => {
    socket.destroy();
    tlsSocket.destroy();
  };
  const answer = (): boolean => {
    if (state.answered || socket.destroyed) return false;
    state.answered = true;
    clearTimeout(state.timer);
    return true;
  };

  request.on('upgrade', (res: IncomingMessage, upgraded: Duplex, upgradedHead: Buffer) => {
    upgraded.once('close', closeBoth);
    upgraded.once('error', closeBoth);
    if (!answer()) {
      upgraded.destroy();
      return;
    }
    input.observer?.onResponseStart?.(101, res.headers);
    socket.write(responseHead(res, input));
    // Either may be empty; an empty write sends nothing.
    socket.write(upgradedHead);
    upgraded.write(input.head);
    for (const chunk of early.stop()) upgraded.write(chunk);
    upgraded.pipe(socket);
    socket.pipe(upgraded);
    input.observer?.onUpgraded?.(socket, upgraded, res.headers['sec-websocket-protocol']);
  });

  request.on('response', (res: IncomingMessage) => {
    if (!answer()) {
      tlsSocket.destroy();
      return;
    }
    // Not upgraded: relay the answer, then close both connections for good.
    early.stop();
    input.observer?.onResponseStart?.(res.statusCode ?? 502, res.headers);
    socket.write(responseHead(res, input, true));
    // The pipe ends the caller's side; once that is flushed the caller's socket is destroyed,
    // and its 'close' releases kube-apiserver's connection, which is never reused.
    res.pipe(socket);
    // The caller's socket is no longer read, so its FIN would go unseen: once the answer
    // is flushed, the connection is closed from this side.
    socket.once('finish', () => socket.destroy());
    res.once('error', closeBoth);
  });

  request.on('error', (error: Error) => {
    // Ended by us (the caller left, the timeout, access taken away): its answer is already on its way.
    if (state.abort.signal.aborted) return;
    end(new DroverError('DRV_ERR_BAD_GATEWAY', `upgrade to cluster ${input.clusterId} failed: ${error.message}`, { cause: error }));
  });
  request.end();
}

interface EarlyBytes { stop: () => Buffer[] }

/**
 * Reads a paused caller socket until the upgrade is answered. A caller that half-closes
 * (it cannot use a session any more) or sends too much is destroyed, so its 'close'
 * ends the upstream like any other departure. `stop()` hands back what came and
 * pauses the socket again, in the same tick, so piping it loses nothing.
 */
function readEarlyBytes(socket: Duplex): EarlyBytes {
  const chunks: Buffer[] = [];
  let size = 0;
  const leave = (): void => { socket.destroy(); };
  const collect = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > maxEarlyBytes) leave();
  };
  socket.on('data', collect);
  socket.once('end', leave);
  return {
    stop: () => {
      socket.off('data', collect);
      socket.off('end', leave);
      socket.pause();
      return chunks.splice(0);
    },
  };
}

function toHeaderObject(headers: Array<[string, string]>): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else out[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return out;
}

function responseHead(res: IncomingMessage, input: UpgradeRequest, close = false): string {
  const status = res.statusCode ?? 502;
  const lines = [`HTTP/1.1 ${status} ${res.statusMessage || STATUS_CODES[status] || ''}`];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i] ?? '';
    let value = res.rawHeaders[i + 1] ?? '';
    const lower = name.toLowerCase();
    if (close && (lower === 'connection' || lower === 'keep-alive' || lower === 'transfer-encoding')) continue;
    // A WebSocket handshake's cookies are honoured by browsers: a pod must not set Drover's;
    // nor may a cluster's answer pass for a replica's (forward.ts, misdirectedHeader).
    if (lower === 'set-cookie' || lower === misdirectedHeader) continue;
    if (lower === 'location') {
      const rewritten = rewriteLocation(value, { proxyPrefix: input.proxyPrefix, upstreamOrigin: input.endpoint.url.origin, downstreamPath: input.downstreamPath });
      if (rewritten === undefined) continue;
      value = rewritten;
    }
    lines.push(`${name}: ${value}`);
  }
  // A non-101 body is delimited by closing the connection.
  if (close) lines.push('connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}
