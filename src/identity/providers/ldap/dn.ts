/**
 * RFC 4514 distinguished names: parse (escapes decoded, hex-string values
 * refused), format (escapes applied), normalise (attribute types lowercased,
 * insignificant spaces dropped) and compare. Principal ids carry normalised DNs,
 * and a DN taken from a principal id is parsed before it is used as a search
 * base, so a malformed or foreign DN never reaches the directory.
 */
import { DroverError } from '../../../errors/index.ts';

export interface Ava { type: string; value: string }
/** One RDN: usually one attribute=value pair, several when joined with `+`. */
export type Rdn = Ava[];

const typePattern = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

const bad = (dn: string, why: string): DroverError =>
  new DroverError('DRV_ERR_INVALID_ARGUMENT', `not a valid DN (${why}): ${JSON.stringify(dn.slice(0, 120))}`);

export function parseDn(dn: string): Rdn[] {
  if (dn.trim() === '') return [];
  const rdns: Rdn[] = [];
  let rdn: Rdn = [];
  let i = 0;
  while (i <= dn.length) {
    // Attribute type.
    while (dn[i] === ' ') i++;
    let type = '';
    while (i < dn.length && dn[i] !== '=') type += dn[i++];
    type = type.trim();
    if (dn[i] !== '=' || !typePattern.test(type)) throw bad(dn, 'attribute type');
    i++;
    while (dn[i] === ' ') i++;
    if (dn[i] === '#') throw bad(dn, 'hex-string values are not accepted');
    const bytes: number[] = [];
    let trailingSpaces = 0;
    while (i < dn.length && dn[i] !== ',' && dn[i] !== '+') {
      const c = dn[i] ?? '';
      if (c === '\\') {
        const next = dn[i + 1];
        if (next === undefined) throw bad(dn, 'dangling escape');
        if (/[0-9A-Fa-f]/.test(next) && /[0-9A-Fa-f]/.test(dn[i + 2] ?? '')) {
          bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
          i += 3;
        } else if (' "#+,;<=>\\'.includes(next)) {
          bytes.push(next.charCodeAt(0));
          i += 2;
        } else throw bad(dn, 'bad escape');
        trailingSpaces = 0;
        continue;
      }
      if (c === '"' || c === ';' || c === '<' || c === '>' || c === '\0') throw bad(dn, `unescaped ${JSON.stringify(c)}`);
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
      trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
      i++;
    }
    const value = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)).toString('utf8');
    if (value === '') throw bad(dn, 'empty value');
    rdn.push({ type, value });
    if (dn[i] === '+') { i++; continue; }
    rdns.push(rdn);
    rdn = [];
    if (i >= dn.length) break;
    i++; // ','
  }
  return rdns;
}

export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] ?? '';
    if (',+"\\<>;='.includes(c) || c === '\0') out += c === '\0' ? '\\00' : `\\${c}`;
    else if ((i === 0 && (c === ' ' || c === '#')) || (i === value.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

export function formatDn(rdns: readonly Rdn[]): string {
  return rdns.map((rdn) => rdn.map((a) => `${a.type}=${escapeDnValue(a.value)}`).join('+')).join(',');
}

/** Lowercased attribute types, values as the directory stores them, canonical escaping. */
export function normalizeDn(dn: string): string {
  return formatDn(parseDn(dn).map((rdn) => rdn.map((a) => ({ type: a.type.toLowerCase(), value: a.value }))
    .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))));
}

/** Case-insensitive comparison key (directory values here use case-insensitive matching). */
export function dnKey(dn: string): string {
  return normalizeDn(dn).toLowerCase();
}

/** Whether `dn` is `base` or lies under it. */
export function isWithin(dn: string, base: string): boolean {
  const d = parseDn(dn).map((r) => dnKey(formatDn([r])));
  const b = parseDn(base).map((r) => dnKey(formatDn([r])));
  if (b.length > d.length) return false;
  const offset = d.length - b.length;
  return b.every((r, k) => r === d[offset + k]);
}
