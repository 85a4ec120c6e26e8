import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createDeflate } from 'node:zlib';
import { SpdyFrameReader, SpdySession, spdyDictionary } from './spdy-frames.ts';

const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
/** A SPDY/3 header block: count, then length-prefixed names and values. */
const block = (headers: Record<string, string>): Buffer =>
  Buffer.concat([u32(Object.keys(headers).length), ...Object.entries(headers).flatMap(([k, v]) => [u32(k.length), Buffer.from(k), u32(v.length), Buffer.from(v)])]);
const control = (type: number, body: Buffer): Buffer => Buffer.concat([u32(((0x8000 | 3) << 16 | type) >>> 0), u32(body.length), body]);
const data = (streamId: number, payload: string): Buffer => Buffer.concat([u32(streamId), u32(Buffer.byteLength(payload)), Buffer.from(payload)]);

describe('SpdyFrameReader reads remote-command channels off SPDY/3.1 streams', () => {
  it('names each stream by its SYN_STREAM\'s streamtype and hands on data frames, split anywhere', async () => {
    // The caller's compressor as spdystream runs it: one zlib stream, SPDY's dictionary, a sync flush per block.
    const deflate = createDeflate({ dictionary: spdyDictionary });
    const compress = (b: Buffer): Promise<Buffer> => new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const onData = (c: Buffer): void => { chunks.push(c); };
      deflate.on('data', onData);
      deflate.write(b);
      deflate.flush(constants.Z_SYNC_FLUSH, () => { deflate.off('data', onData); resolve(Buffer.concat(chunks)); });
    });
    const syn = async (id: number, type: string): Promise<Buffer> =>
      control(1, Buffer.concat([u32(id), Buffer.alloc(6), await compress(block({ streamtype: type, port: '' }))]));
    const session = new SpdySession();
    const got: Array<[number, string]> = [];
    const caller = new SpdyFrameReader(session, true, (c, d) => got.push([c, d.toString()]));
    const cluster = new SpdyFrameReader(session, false, (c, d) => got.push([c, d.toString()]));
    const fromCaller = Buffer.concat([await syn(1, 'error'), await syn(3, 'stdin'), await syn(5, 'stdout'), await syn(7, 'resize'), data(3, 'ls\r'), data(7, '{"Width":80,"Height":20}')]);
    for (const byte of fromCaller) caller.push(Buffer.from([byte]));
    cluster.push(Buffer.concat([control(2, Buffer.alloc(6)), data(5, 'total 0\r\n'), data(9, 'an unknown stream')]));
    deflate.close();
    assert.deepEqual(got, [[0, 'ls\r'], [4, '{"Width":80,"Height":20}'], [1, 'total 0\r\n']]);
  });
});
