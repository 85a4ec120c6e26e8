/**
 * Cluster registration tokens: what an agent presents to open its tunnel and what
 * the import manifest URL carries.
 *
 * A token is 54 random base62 characters (about 320 bits), different after every
 * rotation (the reference design once had predictable agent tokens,
 * CVE-2022-43755). The server keeps only its SHA-256 for lookup: the token is
 * high-entropy, so an unsalted digest cannot be reversed by guessing, and lookup by
 * digest needs no scan. After a rotation the previous token keeps working until its
 * grace period ends, so agents that are mid-restart are not stranded; a token past
 * its expiry never works.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { randomString } from '../tokens/index.ts';

const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const registrationTokenLength = 54;

export function generateRegistrationToken(): string {
  return randomString(alphabet, registrationTokenLength);
}

/** The digest the store indexes tokens by. */
export function registrationTokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Cheap shape check before any lookup, so garbage never reaches the store. */
export function isWellFormedRegistrationToken(token: string): boolean {
  return token.length === registrationTokenLength && /^[0-9A-Za-z]+$/.test(token);
}

/** The stored half of a cluster's registration credentials. */
export interface RegistrationTokenRecord {
  digest: string;
  /** ISO time after which the token no longer registers agents; absent: no expiry. */
  expiresAt?: string;
  /** The token before the last rotation, valid until `previousValidUntil`. */
  previousDigest?: string;
  previousValidUntil?: string;
}

/** `rotated-out`: the token before the last rotation, past its grace period (the agent needs the new one). */
export type TokenMatch = 'current' | 'previous' | 'expired' | 'rotated-out' | 'no-match';

/** Whether `token` opens this record at `now`, comparing digests in constant time. */
export function matchRegistrationToken(record: RegistrationTokenRecord, token: string, now: Date): TokenMatch {
  if (!isWellFormedRegistrationToken(token)) return 'no-match';
  const digest = Buffer.from(registrationTokenDigest(token), 'hex');
  const same = (stored: string | undefined): boolean =>
    stored !== undefined && /^[0-9a-f]{64}$/.test(stored) && timingSafeEqual(digest, Buffer.from(stored, 'hex'));
  if (same(record.digest)) {
    return record.expiresAt && Date.parse(record.expiresAt) <= now.getTime() ? 'expired' : 'current';
  }
  if (same(record.previousDigest)) {
    return record.previousValidUntil && Date.parse(record.previousValidUntil) > now.getTime() ? 'previous' : 'rotated-out';
  }
  return 'no-match';
}

/**
 * A rotation: a new token, with the current one kept for `graceMs` (0 revokes it
 * at once, for a leaked token). The old digest is remembered past its grace period
 * so an agent still using it is told to use the new token (not to rotate again).
 */
export function rotateRegistrationToken(
  record: RegistrationTokenRecord,
  now: Date,
  options: { graceMs: number; ttlMs?: number },
): { token: string; record: RegistrationTokenRecord } {
  const token = generateRegistrationToken();
  return {
    token,
    record: {
      digest: registrationTokenDigest(token),
      ...(options.ttlMs ? { expiresAt: new Date(now.getTime() + options.ttlMs).toISOString() } : {}),
      previousDigest: record.digest,
      previousValidUntil: new Date(now.getTime() + Math.max(0, options.graceMs)).toISOString(),
    },
  };
}
