/**
 * Dead-peer detection for one tunnel session, the same on both ends and over both
 * transports: an HTTP/2 PING every `keepaliveIntervalMs` (at most one outstanding),
 * and the peer declared dead once neither a PING acknowledgement nor a PING of its
 * own has arrived for `deadPeerTimeoutMs`. A link that dies silently (no FIN, no RST)
 * is thus noticed within interval + timeout. HTTP/2's PING is answered by the peer's
 * nghttp2 itself, so it works on a native socket, where no JavaScript sees the bytes.
 *
 * On a socket the session writes to natively, the peer is also declared dead once
 * frames have waited to leave while not one byte left for `stalledWriteMs`. Node's
 * HTTP/2 session drops a write's error (EPIPE once the peer has reset the connection),
 * and the TLS layer never completes the write that follows: the session stops reading
 * while that write is pending, so it misses the peer's FIN as well and would wait for
 * the PING timeout (20 s) to notice a dead agent. This holds only while no dial on the
 * session's streams (carriesBytes) has bytes of its own waiting to leave: the frames
 * are then small, and one that cannot leave in seconds means a peer that reads nothing;
 * an upload on a slow link may keep one write pending that long and is left to the PING
 * timeout. A watch on a stream writes next to nothing and does not count. Only a socket
 * is watched so; a WebSocket's stream counts no bytes written.
 */
import type { Http2Session, Http2Stream } from 'node:http2';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Clock } from './types.ts';

export interface LivenessOptions {
  keepaliveIntervalMs: number;
  deadPeerTimeoutMs: number;
  clock: Clock;
  onDead: (silentMs: number) => void;
  /** What the session runs on; only a socket (not a WebSocket's stream) has its writes watched. */
  connection: Duplex;
  /** How long frames may wait with no byte leaving the socket (default 3 s). */
  stalledWriteMs?: number;
}

const defaultStalledWriteMs = 3_000;
const dialStreams = new WeakMap<Http2Session, Set<Http2Stream>>();

/** Notes that `stream` carries a dial's bytes until it closes (see the top of this file). */
export function carriesBytes(stream: Http2Stream): void {
  const h2 = stream.session;
  if (!h2 || stream.closed) return;
  let streams = dialStreams.get(h2);
  if (!streams) dialStreams.set(h2, streams = new Set());
  streams.add(stream);
  stream.once('close', () => streams.delete(stream));
}

/** Whether a dial on `h2`'s streams has bytes of its own waiting to leave (an upload). */
function uploading(h2: Http2Session): boolean {
  for (const stream of dialStreams.get(h2) ?? []) if (stream.writableLength > 0) return true;
  return false;
}

/** Starts watching `h2`; returns the function that stops it (the session's close stops it too). */
export function watchPeer(h2: Http2Session, options: LivenessOptions): () => void {
  let lastSeen = options.clock.now();
  let waiting = false;
  let dead = false;
  const declareDead = (silentMs: number): void => {
    if (dead) return;
    dead = true;
    stop();
    options.onDead(silentMs);
  };
  const seen = (): void => { lastSeen = options.clock.now(); };
  h2.on('ping', seen);
  const timer = setInterval(() => {
    const silentMs = options.clock.now() - lastSeen;
    if (silentMs > options.deadPeerTimeoutMs) return declareDead(silentMs);
    if (waiting || h2.destroyed || h2.closed) return;
    waiting = true;
    try {
      if (!h2.ping((error) => { waiting = false; if (!error) seen(); })) waiting = false;
    } catch {
      // The session is going away; its close ends the watch.
      waiting = false;
    }
  }, options.keepaliveIntervalMs);
  timer.unref();
  const stopWrites = options.connection instanceof Socket
    ? watchWrites(h2, options.connection, options.stalledWriteMs ?? defaultStalledWriteMs, options.clock, declareDead)
    : () => undefined;
  const stop = (): void => {
    clearInterval(timer);
    stopWrites();
    h2.off('ping', seen);
  };
  h2.once('close', stop);
  return stop;
}

/** Calls `onStalled` once the session's frames have waited `stalledWriteMs` with no byte written. */
function watchWrites(h2: Http2Session, socket: Socket, stalledWriteMs: number, clock: Clock, onStalled: (stalledMs: number) => void): () => void {
  let lastBytes = socket.bytesWritten;
  let stalledSince: number | undefined;
  const timer = setInterval(() => {
    if (h2.destroyed) return;
    const bytes = socket.bytesWritten;
    if (bytes !== lastBytes || !(h2.state.outboundQueueSize ?? 0) || uploading(h2)) {
      lastBytes = bytes;
      stalledSince = undefined;
      return;
    }
    stalledSince ??= clock.now();
    const stalledMs = clock.now() - stalledSince;
    if (stalledMs >= stalledWriteMs) onStalled(stalledMs);
  }, Math.max(50, Math.floor(stalledWriteMs / 3)));
  timer.unref();
  return () => clearInterval(timer);
}
