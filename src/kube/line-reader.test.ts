import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { forEachLine } from './line-reader.ts';

const chunks = (...parts: (string | Buffer)[]): AsyncIterable<Buffer> =>
  Readable.from(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)), { objectMode: true }) as AsyncIterable<Buffer>;

async function lines(...parts: (string | Buffer)[]): Promise<string[]> {
  const out: string[] = [];
  await forEachLine(chunks(...parts), (l) => { out.push(l); });
  return out;
}

describe('forEachLine', () => {
  it('delivers lines split across chunks, and a last line without a newline', async () => {
    assert.deepEqual(await lines('{"a":', '1}\n{"b"', ':2}\n\n{"c":3}'), ['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('decodes a multi-byte character cut between two chunks', async () => {
    const bytes = Buffer.from('{"n":"é☃"}\n');
    assert.deepEqual(await lines(bytes.subarray(0, 8), bytes.subarray(8)), ['{"n":"é☃"}']);
  });

  it('delivers a line as soon as it is complete, before the stream ends', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const hold = new Promise<void>((r) => { release = r; });
    async function* slow(): AsyncGenerator<Buffer> {
      yield Buffer.from('first\n');
      await hold;
      yield Buffer.from('second\n');
    }
    const done = forEachLine(slow(), (l) => { seen.push(l); });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ['first']);
    release();
    await done;
    assert.deepEqual(seen, ['first', 'second']);
  });

  it('drops a stream whose line grows past the limit instead of buffering without bound', async () => {
    await assert.rejects(forEachLine(chunks('x'.repeat(10), 'y'.repeat(10)), () => undefined, 15), /larger than 15 bytes/);
  });
});
