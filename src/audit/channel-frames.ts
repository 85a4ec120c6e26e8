/**
 * Reads the Kubernetes remote-command channels out of a WebSocket byte stream
 * (`channel.k8s.io`, `v4.channel.k8s.io`, `v5.channel.k8s.io`: a binary message whose
 * first byte is the channel, 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize), as a tap:
 * it is fed copies of the bytes and never holds the stream back. Frames may be split
 * across chunks and masked (client to server); fragmented messages keep the channel
 * of their first fragment. Control frames are skipped.
 */

export type ChannelSink = (channel: number, data: Buffer) => void;

export class ChannelFrameReader {
  private pending: Buffer = Buffer.alloc(0);
  private messageChannel: number | undefined;

  constructor(private readonly sink: ChannelSink) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const frame = this.nextFrame();
      if (!frame) return;
      this.deliver(frame.opcode, frame.payload);
    }
  }

  private nextFrame(): { opcode: number; payload: Buffer } | undefined {
    const b = this.pending;
    if (b.length < 2) return undefined;
    const opcode = (b[0] ?? 0) & 0x0f;
    const masked = ((b[1] ?? 0) & 0x80) !== 0;
    let length = (b[1] ?? 0) & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(b.readBigUInt64BE(2));
      offset = 10;
    }
    const maskAt = offset;
    if (masked) offset += 4;
    if (b.length < offset + length) return undefined;
    const payload = Buffer.from(b.subarray(offset, offset + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (b[maskAt + (i % 4)] ?? 0);
    this.pending = b.subarray(offset + length);
    return { opcode, payload };
  }

  private deliver(opcode: number, payload: Buffer): void {
    if (opcode === 0x1 || opcode === 0x2) {
      if (payload.length === 0) return;
      this.messageChannel = payload[0];
      if (payload.length > 1) this.sink(payload[0] ?? 0, payload.subarray(1));
    } else if (opcode === 0x0 && this.messageChannel !== undefined) {
      this.sink(this.messageChannel, payload);
    }
  }
}
