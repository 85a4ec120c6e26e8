/**
 * The headers the proxy sets at egress to act as a user downstream:
 * `Impersonate-User`, one `Impersonate-Group` per group, and the two extras the
 * impersonation role allows (`principalid`, `username`). Extra keys are
 * percent-encoded exactly as client-go's `headerKeyEscape` does (the apiserver
 * lower-cases and unescapes them); values are sent as they are, because the
 * apiserver does not decode them (identity.ts refuses values that would not
 * survive). The caller must have removed every caller-sent `Impersonate-*`
 * header first; this function only produces ours.
 */
import { canonicalIdentity } from './identity.ts';
import type { UserIdentity } from './identity.ts';

export const IMPERSONATE_USER = 'Impersonate-User';
export const IMPERSONATE_GROUP = 'Impersonate-Group';
export const IMPERSONATE_EXTRA_PREFIX = 'Impersonate-Extra-';

/** RFC 7230 token characters, minus `%` (which starts an escape). */
const TOKEN_CHAR = /^[!#$&'*+\-.^_`|~0-9A-Za-z]$/;

/** Percent-encodes an extra key for a header name, byte by byte, as client-go does. */
export function encodeExtraKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && TOKEN_CHAR.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Header name to values, in a fixed order; each list value is one header line. */
export function impersonationHeaders(identity: UserIdentity): Record<string, string[]> {
  const user = canonicalIdentity(identity);
  const headers: Record<string, string[]> = {
    [IMPERSONATE_USER]: [user.id],
    [IMPERSONATE_GROUP]: user.groups,
  };
  if (user.principalIds.length > 0) headers[`${IMPERSONATE_EXTRA_PREFIX}${encodeExtraKey('principalid')}`] = user.principalIds;
  headers[`${IMPERSONATE_EXTRA_PREFIX}${encodeExtraKey('username')}`] = [user.username];
  return headers;
}
