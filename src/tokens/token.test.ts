import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DroverError } from '../errors/index.ts';
import { generateToken, hashTokenSecret, parseToken, tokenFromAuthorization, verifyTokenSecret } from './token.ts';

function refusal(fn: () => unknown): DroverError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DroverError);
    return error;
  }
  assert.fail('expected a refusal');
}

describe('token format', () => {
  it('generates token-<id>:<secret> with a 256-bit base62 secret and distinct values', () => {
    const a = generateToken();
    const b = generateToken();
    assert.match(a.value, /^token-[a-z0-9]{12}:[A-Za-z0-9]{43}$/);
    assert.equal(a.value, `${a.id}:${a.secret}`);
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.secret, b.secret);
  });

  it('parses what it generates', () => {
    const t = generateToken();
    assert.deepEqual(parseToken(t.value), { id: t.id, secret: t.secret });
  });

  const malformed = [
    '', 'token-abc', ':secret', 'token-abcde:', 'nottoken-abcde:' + 'a'.repeat(40), 'token-ABCDE:' + 'a'.repeat(40),
    'token-abcde:short', 'token-abcde:' + 'a'.repeat(40) + ' ', 'token-abcde:' + 'a'.repeat(39) + '!', 'token-abcde:' + 'x'.repeat(300),
    'token-abcde:' + 'a'.repeat(40) + ':extra', 'token-abc\u0000de:' + 'a'.repeat(40), 'ext/token-abcde:' + 'a'.repeat(40),
  ];
  for (const value of malformed) {
    it(`refuses the malformed token ${JSON.stringify(value.slice(0, 40))} as unauthenticated`, () => {
      assert.equal(refusal(() => parseToken(value)).code, 'DRV_ERR_UNAUTHENTICATED');
    });
  }
});

describe('Authorization header extraction', () => {
  const t = generateToken();
  const cases: Array<[string, string]> = [
    ['Bearer with one space', `Bearer ${t.value}`],
    ['bearer in lower case with extra spaces', `  bearer   ${t.value}  `],
    ['BEARER in upper case', `BEARER ${t.value}`],
    ['Basic with base64 of the token', `Basic ${Buffer.from(t.value).toString('base64')}`],
    ['Basic with URL-safe base64', `Basic ${Buffer.from(t.value).toString('base64url')}`],
    ['a bare token', t.value],
  ];
  for (const [name, header] of cases) {
    it(`accepts ${name}`, () => assert.deepEqual(tokenFromAuthorization(header), { id: t.id, secret: t.secret }));
  }

  const refused: Array<[string, string | undefined]> = [
    ['no header', undefined], ['an empty header', ''], ['only spaces', '   '], ['Bearer with no token', 'Bearer '],
    ['an unknown scheme', `Token ${t.value}`], ['Digest', 'Digest username="a"'], ['Basic with junk', 'Basic %%%'],
    ['Basic of user:password', `Basic ${Buffer.from('admin:password').toString('base64')}`], ['two tokens', `Bearer ${t.value} ${t.value}`],
    ['a huge header', `Bearer ${'a'.repeat(100_000)}`], ['a JWT-looking value', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc'],
  ];
  for (const [name, header] of refused) {
    it(`refuses ${name} as unauthenticated`, () => assert.equal(refusal(() => tokenFromAuthorization(header)).code, 'DRV_ERR_UNAUTHENTICATED'));
  }
});

describe('secret hashing', () => {
  it('stores a self-describing salted SHA3-512 hash that verifies offline', () => {
    const { secret } = generateToken();
    const stored = hashTokenSecret(secret);
    assert.match(stored, /^sha3-512\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    assert.ok(!stored.includes(secret));
    assert.equal(verifyTokenSecret(secret, stored), true);
  });

  it('salts each hash, so equal secrets hash differently', () => {
    assert.notEqual(hashTokenSecret('a'.repeat(43)), hashTokenSecret('a'.repeat(43)));
  });

  it('rejects a wrong secret, even one differing in the last character', () => {
    const { secret } = generateToken();
    const stored = hashTokenSecret(secret);
    assert.equal(verifyTokenSecret(`${secret.slice(0, -1)}${secret.endsWith('a') ? 'b' : 'a'}`, stored), false);
  });

  it('fails closed on unknown schemes and broken hashes', () => {
    const { secret } = generateToken();
    const [, salt, digest] = hashTokenSecret(secret).split('$');
    for (const stored of ['', secret, `sha256$${salt}$${digest}`, `sha3-512$${salt}`, `sha3-512$$${digest}`, `sha3-512$${salt}$abc`, `sha3-512$${salt}$${digest}$x`]) {
      assert.equal(verifyTokenSecret(secret, stored), false, stored);
    }
  });
});
