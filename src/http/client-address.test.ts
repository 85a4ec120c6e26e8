import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { noteRelayedClient, sourceAddresses } from './client-address.ts';

const from = (remoteAddress: string | undefined, headers: Record<string, string> = {}): IncomingMessage =>
  ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

describe('sourceAddresses (the audit trail\'s sourceIPs)', () => {
  it('is the socket\'s peer, without the IPv6 mapping of an IPv4 address', () => {
    assert.deepEqual(sourceAddresses(from('::ffff:10.0.0.7')), ['10.0.0.7']);
    assert.deepEqual(sourceAddresses(from('2001:db8::1')), ['2001:db8::1']);
    assert.deepEqual(sourceAddresses(from(undefined)), []);
  });

  it('ignores an X-Forwarded-For nobody vouched for: a client cannot choose its audited address', () => {
    assert.deepEqual(sourceAddresses(from('10.0.0.7', { 'x-forwarded-for': '203.0.113.9' })), ['10.0.0.7']);
  });

  it('puts the caller a verified replica relayed for first, then that replica', () => {
    const req = from('10.0.0.2', { 'x-forwarded-for': '198.51.100.4' });
    noteRelayedClient(req, '198.51.100.4');
    assert.deepEqual(sourceAddresses(req), ['198.51.100.4', '10.0.0.2']);
  });
});
