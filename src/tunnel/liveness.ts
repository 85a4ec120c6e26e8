/**
 * Dead-peer detection for one tunnel session, the same on both ends and over both
 * transports: an HTTP/2 PING every `keepaliveIntervalMs` (at most one outstanding),
 * and the peer declared dead once neither a PING acknowledgement nor a PING of its
 * own has arrived for `deadPeerTimeoutMs`. A link that dies silently (no FIN, no RST)
 * is thus noticed within interval + timeout. HTTP/2's PING is answered by the peer's
 * nghttp2 itself, so it works on a native socket, where no JavaScript sees the bytes.
 */
import type { Http2Session } from 'node:http2';
import type { Clock } from './types.ts';

export interface LivenessOptions {
  keepaliveIntervalMs: number;
  deadPeerTimeoutMs: number;
  clock: Clock;
  onDead: (silentMs: number) => void;
}

/** Starts watching `h2`; returns the function that stops it (the session's close stops it too). */
export function watchPeer(h2: Http2Session, options: LivenessOptions): () => void {
  let lastSeen = options.clock.now();
  let waiting = false;
  const seen = (): void => { lastSeen = options.clock.now(); };
  h2.on('ping', seen);
  const timer = setInterval(() => {
    const silentMs = options.clock.now() - lastSeen;
    if (silentMs > options.deadPeerTimeoutMs) {
      stop();
      options.onDead(silentMs);
      return;
    }
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
  const stop = (): void => {
    clearInterval(timer);
    h2.off('ping', seen);
  };
  h2.once('close', stop);
  return stop;
}
