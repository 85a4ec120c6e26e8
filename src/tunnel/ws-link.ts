/**
 * One WebSocket as the byte stream HTTP/2 runs over (the `websocket` transport, see
 * protocols.ts). Both sides use it. Only binary messages are accepted: a text
 * message destroys the stream with an error, which ends the HTTP/2 session on it as a
 * protocol error; the WebSocket's maxPayload bounds each message. Liveness is
 * HTTP/2's PING (liveness.ts), the same as on the direct transport.
 */
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** Largest WebSocket message either side accepts: a flush of HTTP/2 frames, each at most `maxFrameBytes` plus header. */
export const maxMessageBytes = 1024 * 1024;

/**
 * Largest HTTP/2 frame either side accepts (HTTP/2's default is 16 KiB). A read from
 * kube-apiserver's socket (up to 64 KiB) then crosses the tunnel as one DATA frame and
 * reaches the server's TLS layer as one chunk instead of four: fewer trips through
 * Node's JavaScript stream layers per byte (measured in README.md, "What it costs").
 */
export const maxFrameBytes = 128 * 1024;

/** The WebSocket's binary messages as a byte stream for an HTTP/2 session. */
export function webSocketStream(ws: WebSocket): Duplex {
  const duplex = new WebSocketDuplex(ws);
  ws.on('message', (_data, isBinary) => {
    if (!isBinary) duplex.destroy(new Error('text message on the tunnel WebSocket'));
  });
  // Errors surface through the HTTP/2 session and the WebSocket's close; this keeps
  // an unhandled 'error' from crashing the process.
  duplex.on('error', () => undefined);
  return duplex;
}

/** Largest message we send: half what the peer accepts. */
const maxSendBytes = maxMessageBytes / 2;

/**
 * The WebSocket's binary messages as a byte stream. Unlike ws's createWebSocketStream
 * it implements _writev, so the many small writes HTTP/2 makes for one flush (it
 * corks the stream) go out as one message: one TLS record and one syscall instead of
 * one per frame. Reading pauses the
 * socket when the readable side is full.
 */
class WebSocketDuplex extends Duplex {
  constructor(private readonly ws: WebSocket) {
    super({ allowHalfOpen: false, readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 });
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary && !this.push(data)) ws.pause();
    });
    ws.once('close', () => {
      this.push(null);
      this.destroy();
    });
    ws.on('error', (error: Error) => this.destroy(error));
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.send(chunks.length === 1 ? (chunks[0]?.chunk ?? Buffer.alloc(0)) : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000, 'stream ended');
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.CLOSED) this.ws.terminate();
    callback(error);
  }

  private send(data: Buffer, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return callback(new Error('the tunnel WebSocket is not open'));
    let pending = 0;
    let failed: Error | undefined;
    for (let offset = 0; offset < data.length || pending === 0; offset += maxSendBytes) {
      pending += 1;
      this.ws.send(data.subarray(offset, offset + maxSendBytes), { binary: true }, (error) => {
        failed ??= error;
        pending -= 1;
        if (pending === 0) callback(failed);
      });
    }
  }
}
