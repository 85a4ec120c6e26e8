import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { addHstsToRawAnswer, withHstsLine } from './hsts.ts';

describe('HSTS on raw answers', () => {
  it('inserts the header after the status line of a string or Buffer answer head', () => {
    assert.equal(withHstsLine('HTTP/1.1 404 Not Found\r\na: b\r\n\r\n{}'), 'HTTP/1.1 404 Not Found\r\nstrict-transport-security: max-age=31536000\r\na: b\r\n\r\n{}');
    const out = withHstsLine(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n'));
    assert.equal((out as Buffer).toString(), 'HTTP/1.1 101 Switching Protocols\r\nstrict-transport-security: max-age=31536000\r\nupgrade: websocket\r\n\r\n');
  });

  it('leaves anything that is not an answer head alone', () => {
    for (const chunk of ['hello', 'HTTP/1.1 200 OK', Buffer.from([1, 2, 3]), 'GET / HTTP/1.1\r\n']) assert.deepEqual(withHstsLine(chunk), chunk);
  });

  it('touches only the first write on a socket, whether it is write or end', () => {
    for (const first of ['write', 'end'] as const) {
      const socket = new PassThrough();
      let seen = '';
      socket.on('data', (c: Buffer) => { seen += c.toString(); });
      addHstsToRawAnswer(socket);
      socket[first]('HTTP/1.1 403 Forbidden\r\n\r\n');
      if (first === 'write') socket.end('HTTP/1.1 later bytes\r\n');
      assert.equal(seen, `HTTP/1.1 403 Forbidden\r\nstrict-transport-security: max-age=31536000\r\n\r\n${first === 'write' ? 'HTTP/1.1 later bytes\r\n' : ''}`);
      assert.equal(Object.hasOwn(socket, 'write'), false, 'the socket gets its own methods back');
    }
  });
});
