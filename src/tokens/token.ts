/**
 * Drover token formats, shared by every role that checks a token: the server's
 * authenticator and kube-api-auth inside downstream clusters (which verifies
 * synced records offline, so the stored hash must describe itself).
 *
 * Wire format: `token-<id chars>:<secret>`. The id is public (it names the record,
 * shows up in lists and logs); the secret is shown once and stored only as
 * `sha3-512$<base64url salt>$<base64url digest>` over salt || secret, compared in
 * constant time. SHA3 rather than argon2: the secret already carries 256 random
 * bits, so a slow hash adds nothing, while a fast one keeps every request cheap.
 */
import { hash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { DroverError } from '../errors/index.ts';

export const tokenIdPrefix = 'token-';
const idAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
const secretAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 43 base62 characters hold 256 random bits. */
const secretLength = 43;
const idRandomLength = 12;
const hashScheme = 'sha3-512';
const saltBytes = 16;
/** Anything longer is not a Drover token; refusing early bounds the work an attacker can cause. */
const maxTokenLength = 256;

const idPattern = /^token-[a-z0-9]{5,64}$/;
const secretPattern = /^[A-Za-z0-9]{32,128}$/;

export interface TokenParts { id: string; secret: string }
export interface NewToken extends TokenParts { value: string }

/** A random string from `alphabet`, without modulo bias. */
export function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A random lowercase alphanumeric id with a prefix (`u-`, `token-`, `c-`). */
export function randomId(prefix: string, length = idRandomLength): string {
  return prefix + randomString(idAlphabet, length);
}

export function generateToken(): NewToken {
  const id = randomId(tokenIdPrefix);
  const secret = randomString(secretAlphabet, secretLength);
  return { id, secret, value: formatToken(id, secret) };
}

export function formatToken(id: string, secret: string): string {
  return `${id}:${secret}`;
}

function unauthenticated(message: string): DroverError {
  return new DroverError('DRV_ERR_UNAUTHENTICATED', message);
}

/** Splits `token-xxx:secret`; throws DRV_ERR_UNAUTHENTICATED for anything else. */
export function parseToken(value: string): TokenParts {
  if (value.length === 0 || value.length > maxTokenLength) throw unauthenticated('malformed token: expected token-<id>:<secret>');
  const colon = value.indexOf(':');
  if (colon < 0) throw unauthenticated('malformed token: expected token-<id>:<secret>');
  const id = value.slice(0, colon);
  const secret = value.slice(colon + 1);
  if (!idPattern.test(id) || !secretPattern.test(secret)) throw unauthenticated('malformed token: expected token-<id>:<secret>');
  return { id, secret };
}

/**
 * The token value from an `Authorization` header (`Bearer <token>`, or `Basic`
 * with base64 of the token, as kubectl and Rancher clients send it), or a bare
 * token. Throws DRV_ERR_UNAUTHENTICATED when there is none.
 */
export function tokenFromAuthorization(header: string | undefined): TokenParts {
  if (header === undefined || header.trim() === '') throw unauthenticated('no credential: send Authorization: Bearer token-<id>:<secret> (run "drover login")');
  if (header.length > maxTokenLength * 2) throw unauthenticated('malformed Authorization header');
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  if (space < 0) return parseToken(trimmed);
  const scheme = trimmed.slice(0, space).toLowerCase();
  const rest = trimmed.slice(space + 1).trim();
  if (scheme === 'bearer') return parseToken(rest);
  if (scheme === 'basic') return parseToken(decodeBasic(rest));
  throw unauthenticated('unsupported Authorization scheme: use Bearer');
}

function decodeBasic(encoded: string): string {
  // Node's base64 decoder skips characters outside the alphabet, so junk is refused here first.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) throw unauthenticated('malformed Basic credential');
  // 'base64' also reads the URL-safe alphabet. Basic carries user:password; clients put the whole token in either place.
  return Buffer.from(encoded, 'base64').toString('utf8');
}

/**
 * SHA3-512 over salt || secret, in one call: `hash()` needs no Hash object per check
 * (the proxy checks a token on every request).
 */
function digest(salt: Buffer, secret: string): Buffer {
  return hash('sha3-512', Buffer.concat([salt, Buffer.from(secret, 'utf8')]), 'buffer');
}

/** `sha3-512$<salt>$<digest>` with a fresh random salt. */
export function hashTokenSecret(secret: string): string {
  const salt = randomBytes(saltBytes);
  return `${hashScheme}$${salt.toString('base64url')}$${digest(salt, secret).toString('base64url')}`;
}

const refuseAll = (): boolean => false;

/**
 * The constant-time check of secrets against one stored hash, with the hash decoded
 * once: a cache that keeps a record also keeps this, so a request pays only the
 * salted SHA3 and the compare. Every check still hashes the presented secret: nothing
 * secret-equivalent (the secret, or an unsalted or unkeyed digest of it) is ever
 * remembered. An unknown or broken hash refuses every secret.
 */
export function tokenVerifier(stored: string): (secret: string) => boolean {
  const parts = stored.split('$');
  if (parts.length !== 3 || parts[0] !== hashScheme) return refuseAll;
  const salt = Buffer.from(parts[1] ?? '', 'base64url');
  const expected = Buffer.from(parts[2] ?? '', 'base64url');
  if (salt.length === 0 || expected.length !== 64) return refuseAll;
  return (secret) => timingSafeEqual(digest(salt, secret), expected);
}

/** Constant-time check of a secret against a stored hash; false for any unknown or broken hash. */
export function verifyTokenSecret(secret: string, stored: string): boolean {
  return tokenVerifier(stored)(secret);
}
