/**
 * Splits a byte stream into lines as bytes arrive, without waiting for the end: a
 * watch is one long response. Splits on the newline byte, so a multi-byte character
 * cut across chunks is decoded whole. `maxLineBytes` bounds memory against a peer
 * that never sends a newline.
 */
import { DroverError } from '../errors/index.ts';

export async function forEachLine(
  body: AsyncIterable<Uint8Array>,
  onLine: (line: string) => void | Promise<void>,
  maxLineBytes = 16 * 1024 * 1024,
): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of body) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    let start = 0;
    for (let nl = pending.indexOf(10, start); nl !== -1; nl = pending.indexOf(10, start)) {
      const line = pending.toString('utf8', start, nl).trim();
      start = nl + 1;
      if (line !== '') await onLine(line);
    }
    pending = start === 0 ? pending : pending.subarray(start);
    if (pending.length > maxLineBytes) {
      throw new DroverError('DRV_ERR_BAD_GATEWAY', `a watch event was larger than ${maxLineBytes} bytes; the stream was dropped`);
    }
  }
  const last = pending.toString('utf8').trim();
  if (last !== '') await onLine(last);
}
