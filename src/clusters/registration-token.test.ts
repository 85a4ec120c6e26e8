import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateRegistrationToken, isWellFormedRegistrationToken, matchRegistrationToken, registrationTokenDigest,
  rotateRegistrationToken, type RegistrationTokenRecord,
} from './registration-token.ts';

const now = new Date('2026-11-22T12:00:00Z');
const later = (ms: number): Date => new Date(now.getTime() + ms);

describe('registration tokens', () => {
  it('are 54 base62 characters and never repeat', () => {
    const tokens = new Set(Array.from({ length: 200 }, generateRegistrationToken));
    assert.equal(tokens.size, 200);
    for (const t of tokens) assert.ok(isWellFormedRegistrationToken(t), t);
  });

  it('match only their own record', () => {
    const token = generateRegistrationToken();
    const record = { digest: registrationTokenDigest(token) };
    assert.equal(matchRegistrationToken(record, token, now), 'current');
    assert.equal(matchRegistrationToken(record, generateRegistrationToken(), now), 'no-match');
  });

  it('refuse malformed input before hashing it', () => {
    const token = generateRegistrationToken();
    const record = { digest: registrationTokenDigest(token) };
    for (const bad of ['', token.slice(1), `${token}x`, `${token.slice(0, 53)}-`, ' '.repeat(54), 'é'.repeat(54)]) {
      assert.equal(matchRegistrationToken(record, bad, now), 'no-match', JSON.stringify(bad));
    }
  });

  it('stop working after their expiry', () => {
    const token = generateRegistrationToken();
    const record = { digest: registrationTokenDigest(token), expiresAt: later(1000).toISOString() };
    assert.equal(matchRegistrationToken(record, token, now), 'current');
    assert.equal(matchRegistrationToken(record, token, later(1000)), 'expired');
  });

  it('keep the previous token only for the grace period after a rotation', () => {
    const old = generateRegistrationToken();
    const rotated = rotateRegistrationToken({ digest: registrationTokenDigest(old) }, now, { graceMs: 60_000 });
    assert.notEqual(rotated.token, old);
    assert.equal(matchRegistrationToken(rotated.record, rotated.token, now), 'current');
    assert.equal(matchRegistrationToken(rotated.record, old, later(59_000)), 'previous');
    assert.equal(matchRegistrationToken(rotated.record, old, later(60_000)), 'rotated-out');
  });

  it('revoke the previous token at once when rotated without grace, still knowing it was rotated out', () => {
    const old = generateRegistrationToken();
    const rotated = rotateRegistrationToken({ digest: registrationTokenDigest(old) }, now, { graceMs: 0 });
    assert.equal(matchRegistrationToken(rotated.record, old, now), 'rotated-out');
    const again = rotateRegistrationToken(rotated.record, now, { graceMs: 0 });
    assert.equal(matchRegistrationToken(again.record, old, now), 'no-match');
  });

  it('survive a corrupted stored digest without throwing', () => {
    const token = generateRegistrationToken();
    const record: RegistrationTokenRecord = { digest: 'zz', previousDigest: 'g'.repeat(64) };
    assert.equal(matchRegistrationToken(record, token, now), 'no-match');
  });
});
