import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DroverError } from '../../errors/index.ts';
import { RedirectLogins, sha256url, type IssuedLogin, type PendingLogin } from './redirect-login.ts';
import { safeReturnPath } from './redirect-api.ts';

const ip = '192.0.2.1';
const issued: IssuedLogin = { token: 'token-abc:secret', tokenId: 'token-abc', user: { id: 'u-1', username: 'alice' } };
const login = (state: string, extra: Partial<PendingLogin> = {}): PendingLogin => ({
  provider: 'github', purpose: 'ui', pending: { state, redirectUri: 'https://drover.test/v1/auth/github/callback' }, ...extra,
});
const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof DroverError);
    return error.code;
  }
  return 'no error';
};

describe('pending browser logins', () => {
  it('a state is good for exactly one callback', () => {
    const logins = new RedirectLogins();
    logins.begin(login('s1'), ip);
    assert.equal(logins.finish('s1', 'github').pending.state, 's1');
    assert.equal(code(() => logins.finish('s1', 'github')), 'DRV_ERR_BAD_REQUEST');
  });

  it('unknown, empty, missing and oversized states are refused', () => {
    const logins = new RedirectLogins();
    logins.begin(login('s1'), ip);
    for (const state of ['nope', '', null, 's1'.repeat(300)]) assert.equal(code(() => logins.finish(state, 'github')), 'DRV_ERR_BAD_REQUEST');
  });

  it('a state started for one provider is refused at another provider\'s callback, and is spent', () => {
    const logins = new RedirectLogins();
    logins.begin(login('s1'), ip);
    assert.equal(code(() => logins.finish('s1', 'oidc')), 'DRV_ERR_BAD_REQUEST');
    assert.equal(code(() => logins.finish('s1', 'github')), 'DRV_ERR_BAD_REQUEST');
  });

  it('a pending login expires after 10 minutes', () => {
    let now = 0;
    const logins = new RedirectLogins({ clock: () => now });
    logins.begin(login('s1'), ip);
    logins.begin(login('s2'), ip);
    now = 9 * 60_000;
    assert.ok(logins.finish('s1', 'github'));
    now = 10 * 60_000 + 1;
    assert.equal(code(() => logins.finish('s2', 'github')), 'DRV_ERR_BAD_REQUEST');
  });

  it('the number of pending logins is bounded; expired ones make room', () => {
    let now = 0;
    const logins = new RedirectLogins({ maxEntries: 3, clock: () => now });
    for (const s of ['a', 'b', 'c']) logins.begin(login(s), ip);
    assert.equal(code(() => logins.begin(login('d'), '192.0.2.2')), 'DRV_ERR_TOO_MANY_REQUESTS');
    now = 11 * 60_000;
    logins.begin(login('d'), ip);
    assert.equal(logins.size.pending, 1);
  });

  it('one address cannot hold more than its share of pending logins; finished ones give it back', () => {
    const logins = new RedirectLogins({ maxPerAddress: 2 });
    logins.begin(login('a'), ip);
    logins.begin(login('b'), ip);
    assert.equal(code(() => logins.begin(login('c'), ip)), 'DRV_ERR_TOO_MANY_REQUESTS');
    logins.begin(login('c'), '192.0.2.2');
    logins.finish('a', 'github');
    logins.begin(login('d'), ip);
    assert.match(logins.openRequest(ip, 'oidc', 'test'), /^lr-/, 'terminal requests are counted apart from pending logins');
  });
});

describe('terminal (CLI) login requests', () => {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = sha256url(verifier);

  it('the token goes once to the holder of the verifier, after the browser finished', () => {
    const logins = new RedirectLogins();
    const id = logins.openRequest(ip, 'oidc', 'cli', challenge);
    logins.startRequest(id, 'oidc', 'cli');
    assert.deepEqual(logins.poll(id, verifier), { state: 'pending' });
    logins.complete(id, issued);
    assert.equal(code(() => logins.poll(id, randomBytes(32).toString('base64url'))), 'DRV_ERR_BAD_REQUEST');
    assert.deepEqual(logins.poll(id, verifier), { state: 'done', issued });
    assert.equal(code(() => logins.poll(id, verifier)), 'DRV_ERR_LOGIN_EXPIRED');
  });

  it('a login link opens once, for its own provider and purpose', () => {
    const logins = new RedirectLogins();
    const id = logins.openRequest(ip, 'oidc', 'cli', challenge);
    assert.equal(code(() => logins.startRequest(id, 'github', 'cli')), 'DRV_ERR_BAD_REQUEST');
    assert.equal(code(() => logins.startRequest(id, 'oidc', 'test')), 'DRV_ERR_BAD_REQUEST');
    logins.startRequest(id, 'oidc', 'cli');
    assert.equal(code(() => logins.startRequest(id, 'oidc', 'cli')), 'DRV_ERR_BAD_REQUEST');
    assert.equal(code(() => logins.startRequest(undefined, 'oidc', 'cli')), 'DRV_ERR_BAD_REQUEST');
  });

  it('a request without a proper challenge is refused', () => {
    const logins = new RedirectLogins();
    for (const bad of [undefined, 'short', `${challenge.slice(0, 42)}=`]) assert.equal(code(() => logins.openRequest(ip, 'oidc', 'cli', bad)), 'DRV_ERR_BAD_REQUEST');
  });

  it('a request expires after 10 minutes: polling then answers 410', () => {
    let now = 0;
    const logins = new RedirectLogins({ clock: () => now });
    const id = logins.openRequest(ip, 'github', 'cli', challenge);
    now = 10 * 60_000 + 1;
    assert.equal(code(() => logins.poll(id, verifier)), 'DRV_ERR_LOGIN_EXPIRED');
    assert.equal(code(() => logins.complete(id, issued)), 'DRV_ERR_LOGIN_EXPIRED');
  });

  it('a failed browser login is reported to the next poll, once', () => {
    const logins = new RedirectLogins();
    const id = logins.openRequest(ip, 'github', 'cli', challenge);
    logins.fail(id, new DroverError('DRV_ERR_FORBIDDEN', 'not in the allowed principals'));
    assert.throws(() => logins.poll(id, verifier), /not in the allowed principals/);
    assert.equal(code(() => logins.poll(id, verifier)), 'DRV_ERR_LOGIN_EXPIRED');
  });
});

describe('where a finished UI login may land', () => {
  it('only same-origin paths; everything else is "/"', () => {
    for (const good of ['/', '/clusters', '/clusters/c-1?tab=members']) assert.equal(safeReturnPath(good), good);
    for (const bad of [undefined, 'https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)', '/a b', 'clusters', '\\\\evil']) {
      assert.equal(safeReturnPath(bad), '/', String(bad));
    }
  });
});
