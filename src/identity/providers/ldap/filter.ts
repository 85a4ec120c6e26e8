/**
 * RFC 4515 filter value escaping. Every user-supplied value that goes into a
 * search filter passes through `escapeFilterValue`, so `*`, `(`, `)`, `\` and
 * NUL are literal characters and a name like `*)(uid=*` cannot widen a search.
 * Non-ASCII bytes are escaped too (`\xx` per UTF-8 byte), which every server reads the same way.
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    // Printable ASCII except the four specials passes as is.
    if (byte >= 0x20 && byte < 0x7f && byte !== 0x2a && byte !== 0x28 && byte !== 0x29 && byte !== 0x5c) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** An attribute description from configuration: a name or OID, optionally with options; never a user value. */
export const attributePattern = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9-]+)*$/;

/** `(attr=value)` with the value escaped. */
export function equals(attribute: string, value: string): string {
  return `(${attribute}=${escapeFilterValue(value)})`;
}

/** `(attr=*value*)` with the value escaped (a substring search for principal search). */
export function contains(attribute: string, value: string): string {
  return `(${attribute}=*${escapeFilterValue(value)}*)`;
}

/** Checks that a configured filter is one balanced parenthesised filter, so it cannot close ours early. */
export function isBalancedFilter(filter: string): boolean {
  if (!filter.startsWith('(') || !filter.endsWith(')')) return false;
  let depth = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i];
    if (c === '\\') { i += 2; continue; }
    if (c === '(') depth++;
    else if (c === ')') { depth--; if (depth === 0 && i !== filter.length - 1) return false; }
    if (depth < 0) return false;
  }
  return depth === 0;
}
