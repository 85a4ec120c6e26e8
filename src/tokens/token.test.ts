import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DroverError } from '../errors/index.ts';
import { generateToken, hashTokenSecret, parseToken, tokenFromAuthorization, tokenVerifier, verifyTokenSecret } from './token.ts';

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
  const longest = `token-${'a'.repeat(64)}:${'A'.repeat(128)}`;
  it('accepts the longest well-formed token, bare, as Bearer and as Basic, with padding up to the header limit', () => {
    const parts = { id: `token-${'a'.repeat(64)}`, secret: 'A'.repeat(128) };
    assert.deepEqual(tokenFromAuthorization(longest), parts);
    assert.deepEqual(tokenFromAuthorization(`Basic ${Buffer.from(longest).toString('base64')}`), parts);
    const padded = `Bearer ${longest}`.padEnd(512, ' ');
    assert.equal(padded.length, 512);
    assert.deepEqual(tokenFromAuthorization(padded), parts);
    assert.equal(refusal(() => tokenFromAuthorization(`${padded} `)).code, 'DRV_ERR_UNAUTHENTICATED');
  });

  it('refuses a token one character past the id or secret limits', () => {
    assert.equal(refusal(() => parseToken(`token-${'a'.repeat(65)}:${'A'.repeat(40)}`)).code, 'DRV_ERR_UNAUTHENTICATED');
    assert.equal(refusal(() => parseToken(`token-abcde:${'A'.repeat(129)}`)).code, 'DRV_ERR_UNAUTHENTICATED');
    assert.deepEqual(parseToken(`token-abcde:${'A'.repeat(32)}`), { id: 'token-abcde', secret: 'A'.repeat(32) });
    assert.equal(refusal(() => parseToken(`token-abcd:${'A'.repeat(32)}`)).code, 'DRV_ERR_UNAUTHENTICATED');
  });

  // Node's base64 decoder skips what is not base64, so these would decode to the good token if let through.
  const encoded = Buffer.from(t.value).toString('base64');
  const junkBasic: Array<[string, string]> = [
    ['junk before the base64', `!!${encoded}`], ['junk after it', `${encoded}!!`], ['junk inside it', `${encoded.slice(0, 8)}.${encoded.slice(8)}`],
    ['too much padding', `${Buffer.from(`${t.value}x`).toString('base64').replace(/=*$/, '')}===`], ['a space inside it', `${encoded.slice(0, 8)} ${encoded.slice(8)}`],
  ];
  for (const [name, credential] of junkBasic) {
    it(`refuses Basic with ${name}`, () => assert.equal(refusal(() => tokenFromAuthorization(`Basic ${credential}`)).code, 'DRV_ERR_UNAUTHENTICATED'));
  }

  it('names the problem in each refusal', () => {
    assert.match(refusal(() => tokenFromAuthorization(undefined)).message, /no credential: send Authorization: Bearer/);
    assert.match(refusal(() => tokenFromAuthorization(`Token ${t.value}`)).message, /unsupported Authorization scheme: use Bearer/);
    assert.match(refusal(() => tokenFromAuthorization('Basic !!')).message, /malformed Basic credential/);
    assert.match(refusal(() => tokenFromAuthorization(`Bearer ${'a'.repeat(600)}`)).message, /malformed Authorization header/);
    assert.match(refusal(() => parseToken('x')).message, /malformed token: expected token-<id>:<secret>/);
    assert.match(refusal(() => parseToken('token-ab:cd')).message, /malformed token: expected token-<id>:<secret>/);
    for (const empty of ['', '   ', '\t']) assert.match(refusal(() => tokenFromAuthorization(empty)).message, /no credential/);
  });

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

  it('refuses an unsalted hash even when its digest matches', () => {
    const { secret } = generateToken();
    const unsalted = createHash('sha3-512').update(secret, 'utf8').digest('base64url');
    assert.equal(verifyTokenSecret(secret, `sha3-512$$${unsalted}`), false);
  });

  it('a verifier made once from a stored hash checks every secret presented to it, not only the first', () => {
    const { secret } = generateToken();
    const verify = tokenVerifier(hashTokenSecret(secret));
    const other = generateToken().secret;
    assert.equal(verify(secret), true);
    assert.equal(verify(other), false, 'a good secret checked before does not open the verifier');
    assert.equal(verify(`${secret}x`), false);
    assert.equal(verify(''), false);
    assert.equal(verify(secret), true);
  });

  it('hashes what it always hashed: SHA3-512 over salt || secret, so stored hashes keep verifying', () => {
    const { secret } = generateToken();
    const stored = hashTokenSecret(secret);
    const [, salt, digest] = stored.split('$');
    const expected = createHash('sha3-512').update(Buffer.from(salt ?? '', 'base64url')).update(secret, 'utf8').digest('base64url');
    assert.equal(digest, expected);
  });

  it('fails closed on unknown schemes and broken hashes', () => {
    const { secret } = generateToken();
    const [, salt, digest] = hashTokenSecret(secret).split('$');
    for (const stored of ['', secret, `sha256$${salt}$${digest}`, `sha3-512$${salt}`, `sha3-512$$${digest}`, `sha3-512$${salt}$abc`, `sha3-512$${salt}$${digest}$x`]) {
      assert.equal(verifyTokenSecret(secret, stored), false, stored);
      assert.equal(tokenVerifier(stored)(secret), false, stored);
    }
  });
});
