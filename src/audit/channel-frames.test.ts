import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelFrameReader } from './channel-frames.ts';

/** A WebSocket frame as RFC 6455 writes it; masked as a client sends. */
function frame(opcode: number, payload: Buffer, options: { mask?: boolean; fin?: boolean } = {}): Buffer {
  const mask = options.mask ? Buffer.from([1, 2, 3, 4]) : undefined;
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, len]) : len < 65536 ? Buffer.from([0, 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([0, 127]), Buffer.from(new BigUint64Array([BigInt(len)]).buffer).reverse()]);
  head[0] = ((options.fin ?? true) ? 0x80 : 0) | opcode;
  if (mask) head[1] = (head[1] ?? 0) | 0x80;
  const body = mask ? Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] ?? 0))) : payload;
  return Buffer.concat([head, ...(mask ? [mask] : []), body]);
}
const msg = (channel: number, text: string): Buffer => Buffer.concat([Buffer.from([channel]), Buffer.from(text)]);

describe('ChannelFrameReader reads remote-command channels off a WebSocket stream', () => {
  const read = (chunks: Buffer[]): Array<[number, string]> => {
    const got: Array<[number, string]> = [];
    const reader = new ChannelFrameReader((c, d) => got.push([c, d.toString()]));
    for (const c of chunks) reader.push(c);
    return got;
  };

  it('unmasked server frames: stdout and stderr', () => {
    assert.deepEqual(read([frame(2, msg(1, 'hello')), frame(2, msg(2, 'oops'))]), [[1, 'hello'], [2, 'oops']]);
  });

  it('masked client frames, split at every byte', () => {
    const bytes = Buffer.concat([frame(2, msg(0, 'ls -l\r'), { mask: true }), frame(2, msg(4, '{"Width":100,"Height":30}'), { mask: true })]);
    assert.deepEqual(read([...bytes].map((b) => Buffer.from([b]))), [[0, 'ls -l\r'], [4, '{"Width":100,"Height":30}']]);
  });

  it('16-bit and 64-bit lengths', () => {
    const mid = 'x'.repeat(300);
    const big = 'y'.repeat(70_000);
    assert.deepEqual(read([frame(2, msg(1, mid)), frame(2, msg(1, big), { mask: true })]).map(([c, d]) => [c, d.length]), [[1, 300], [1, 70_000]]);
  });

  it('a fragmented message keeps its first fragment\'s channel; control frames are skipped', () => {
    const chunks = [frame(2, msg(1, 'par'), { fin: false }), frame(9, Buffer.from('ping')), frame(0, Buffer.from('tial'))];
    assert.deepEqual(read(chunks), [[1, 'par'], [1, 'tial']]);
  });
});
