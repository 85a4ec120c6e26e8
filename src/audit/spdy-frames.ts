/**
 * Reads the Kubernetes remote-command channels out of a SPDY/3.1 byte stream (kubectl's
 * protocol before WebSocket, still used with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false), as
 * a tap like channel-frames.ts. kubectl opens one SPDY stream per channel with a
 * SYN_STREAM whose `streamtype` header says which (stdin, stdout, stderr, error,
 * resize); the header blocks of one direction share one zlib stream primed with SPDY's
 * dictionary. Only the caller's SYN_STREAMs are decoded (a handful per session, so the
 * whole compressed history is inflated again each time: simple and synchronous); the
 * cluster's control frames are skipped. Data frames then carry the channel's bytes.
 */
import { constants, inflateSync } from 'node:zlib';
import type { ChannelSink } from './channel-frames.ts';

/** SPDY/3's zlib dictionary for header blocks (draft-mbelshe-httpbis-spdy-00, 2.6.10.1). */
export const spdyDictionary = Buffer.from([
  'AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2VwdC1j',
  'aGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UAAAAFYWxs',
  'b3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNlAAAAEGNvbnRl',
  'bnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2Nv',
  'bnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhw',
  'aXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhp',
  'Zi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRz',
  'AAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVy',
  'AAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUA',
  'AAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dl',
  'dAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2ll',
  'AAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3',
  'NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0',
  'IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRl',
  'bjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZh',
  'aWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBX',
  'ZWQsIFRodSwgRnJpLCBTYXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYs',
  'YXBwbGljYXRpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2',
  'YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg=='
].join(''), 'base64');

const channelOf: Record<string, number> = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 };

/** What both directions of one session share: which stream is which channel. */
export class SpdySession {
  readonly streams = new Map<number, number>();
  private compressed: Buffer[] = [];
  private inflated = 0;

  /** Decodes one SYN_STREAM header block of the caller's direction and records its channel. */
  synStream(streamId: number, block: Buffer): void {
    this.compressed.push(block);
    let all: Buffer;
    try {
      all = inflateSync(Buffer.concat(this.compressed), { dictionary: spdyDictionary, finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      return;
    }
    const fresh = all.subarray(this.inflated);
    this.inflated = all.length;
    const type = headerValue(fresh, 'streamtype');
    const channel = type === undefined ? undefined : channelOf[type];
    if (channel !== undefined) this.streams.set(streamId, channel);
  }
}

function headerValue(block: Buffer, wanted: string): string | undefined {
  if (block.length < 4) return undefined;
  const count = block.readUInt32BE(0);
  let at = 4;
  for (let i = 0; i < count && at + 4 <= block.length; i++) {
    const nameLength = block.readUInt32BE(at);
    const name = block.subarray(at + 4, at + 4 + nameLength).toString('latin1');
    at += 4 + nameLength;
    if (at + 4 > block.length) return undefined;
    const valueLength = block.readUInt32BE(at);
    const value = block.subarray(at + 4, at + 4 + valueLength).toString('latin1');
    at += 4 + valueLength;
    if (name === wanted) return value;
  }
  return undefined;
}

/** One direction of a SPDY session. `decodeSyn`: this is the caller's direction. */
export class SpdyFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly session: SpdySession, private readonly decodeSyn: boolean, private readonly sink: ChannelSink) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 8) {
      const length = this.pending.readUInt32BE(4) & 0xffffff;
      if (this.pending.length < 8 + length) return;
      const head = this.pending.readUInt32BE(0);
      const body = this.pending.subarray(8, 8 + length);
      this.pending = this.pending.subarray(8 + length);
      const control = (head & 0x80000000) !== 0;
      if (!control) {
        const channel = this.session.streams.get(head & 0x7fffffff);
        if (channel !== undefined && body.length > 0) this.sink(channel, body);
      } else if (this.decodeSyn && (head & 0xffff) === 1 && body.length >= 10) {
        this.session.synStream(body.readUInt32BE(0) & 0x7fffffff, body.subarray(10));
      }
    }
  }
}
