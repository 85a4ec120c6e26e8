import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Logger } from '../logging/index.ts';
import { formatToken, generateToken, hashTokenSecret } from '../tokens/index.ts';
import { refused } from '../testing/index.ts';
import { refusePasswordChangeOnly } from '../http/index.ts';
import type { TokenAuthRecord, TokenLookup } from './token-service.ts';
import type { TokenInvalidation } from './types.ts';
import { CachedTokenAuthenticator } from './token-authenticator.ts';

const start = Date.parse('2026-03-01T00:00:00Z');

/** A token record store the test edits directly, counting reads and last-used writes. */
class FakeTokens implements TokenLookup {
  readonly records = new Map<string, TokenAuthRecord>();
  reads = 0;
  readonly touched: Array<[string, string]> = [];
  failTouch = false;
  /** Runs during the next read, before it answers (a change racing the lookup). */
  duringRead: (() => void) | undefined;

  add(overrides: Partial<TokenAuthRecord> = {}, user: Partial<TokenAuthRecord['user']> = {}): string {
    const t = generateToken();
    this.records.set(t.id, {
      id: t.id, secretHash: hashTokenSecret(t.secret), enabled: true, authProvider: 'local', ...overrides,
      user: {
        id: 'u-alice', username: 'alice', displayName: 'Alice', enabled: true, globalRole: 'user',
        principalIds: ['local://u-alice'], mustChangePassword: false, ...user,
      },
    });
    return t.value;
  }

  findForAuth(tokenId: string): Promise<TokenAuthRecord | undefined> {
    this.reads++;
    const during = this.duringRead;
    this.duringRead = undefined;
    during?.();
    const record = this.records.get(tokenId);
    return Promise.resolve(record && structuredClone(record));
  }

  touchLastUsed(tokenId: string, at: string): Promise<void> {
    this.touched.push([tokenId, at]);
    return this.failTouch ? Promise.reject(new Error('database is read-only')) : Promise.resolve();
  }
}

/** A logger whose warnings the test can read. */
function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = pino({ level: 'warn' }, { write: (line: string) => { warnings.push((JSON.parse(line) as { msg: string }).msg); } });
  return { logger, warnings };
}

function setup(options: { recheckMs?: number; maxEntries?: number; lastUsedIntervalMs?: number } = {}) {
  const tokens = new FakeTokens();
  const clock = { now: start };
  const { logger, warnings } = recordingLogger();
  const auth = new CachedTokenAuthenticator({ tokens, clock: () => clock.now, logger, ...options });
  return { tokens, clock, auth, warnings };
}

const idOf = (value: string): string => value.slice(0, value.indexOf(':'));
const secretOf = (value: string): string => value.slice(value.indexOf(':') + 1);
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('CachedTokenAuthenticator', () => {
  it('authenticates a good token as its user, with group principals and the token facts', async () => {
    const { tokens, auth } = setup();
    const value = tokens.add({ authProvider: 'github', clusterId: 'c-1', expiresAt: '2026-03-02T00:00:00.000Z' }, {
      principalIds: ['github_user://1', 'github_team://7', 'github_org://acme'], globalRole: 'admin', displayName: 'Alice A.',
    });
    const user = await auth.authenticate(`Bearer ${value}`);
    assert.deepEqual(user, {
      id: 'u-alice', username: 'alice', displayName: 'Alice A.', provider: 'github', globalRole: 'admin',
      principalIds: ['github_user://1', 'github_team://7', 'github_org://acme'], groups: ['github_org://acme', 'github_team://7'],
      token: { id: idOf(value), clusterId: 'c-1', expiresAt: '2026-03-02T00:00:00.000Z' },
    });
    assert.ok(Object.isFrozen(user), 'a shared cached user cannot be changed by one caller');
  });

  it('leaves clusterId, expiresAt and passwordChangeOnly out of a token that has none', async () => {
    const { tokens, auth } = setup();
    const value = tokens.add();
    assert.deepEqual((await auth.authenticate(value)).token, { id: idOf(value) });
  });

  it('refuses a wrong secret for a known id, and a token nobody issued', async () => {
    const { tokens, auth } = setup();
    const value = tokens.add();
    const forged = formatToken(idOf(value), generateToken().secret);
    await refused(auth.authenticate(forged), 'DRV_ERR_UNAUTHENTICATED', /invalid or revoked token: log in again/);
    await refused(auth.authenticate(generateToken().value), 'DRV_ERR_UNAUTHENTICATED', /invalid or revoked token/);
    // A good token authenticated first does not make a forged one with its id pass from the cache.
    await auth.authenticate(value);
    await refused(auth.authenticate(forged), 'DRV_ERR_UNAUTHENTICATED');
  });

  it('refuses a malformed credential before any lookup', async () => {
    const { tokens, auth } = setup();
    await refused(auth.authenticate(undefined), 'DRV_ERR_UNAUTHENTICATED');
    await refused(auth.authenticate('Bearer token-abcde'), 'DRV_ERR_UNAUTHENTICATED');
    assert.equal(tokens.reads, 0);
  });

  it('refuses a disabled token, a disabled user and an expired token, each with its own code', async () => {
    const { tokens, auth, clock } = setup();
    await refused(auth.authenticate(tokens.add({ enabled: false })), 'DRV_ERR_UNAUTHENTICATED', /invalid or revoked/);
    await refused(auth.authenticate(tokens.add({}, { enabled: false })), 'DRV_ERR_USER_DISABLED', /user is disabled/);
    const expiring = tokens.add({ expiresAt: new Date(start + 1000).toISOString() });
    await auth.authenticate(expiring);
    clock.now = start + 999;
    await auth.authenticate(expiring);
    clock.now = start + 1000;
    await refused(auth.authenticate(expiring), 'DRV_ERR_TOKEN_EXPIRED', /token has expired: log in again/);
  });

  it('marks the credential of a local user who must change their password, and only a local one', async () => {
    const { tokens, auth } = setup();
    const local = await auth.authenticate(tokens.add({}, { mustChangePassword: true }));
    assert.equal(local.token.passwordChangeOnly, true);
    assert.throws(() => refusePasswordChangeOnly(local), (e: unknown) => e instanceof Error && /must change your password/.test(e.message)
      && (e as { code?: string }).code === 'DRV_ERR_PASSWORD_CHANGE_REQUIRED');
    const ldap = await auth.authenticate(tokens.add({ authProvider: 'openldap' }, { mustChangePassword: true }));
    assert.equal(ldap.token.passwordChangeOnly, undefined);
    refusePasswordChangeOnly(ldap);
    refusePasswordChangeOnly(await auth.authenticate(tokens.add()));
  });

  it('trusts a cached record for recheckMs, then reads it again', async () => {
    const { tokens, auth, clock } = setup({ recheckMs: 1000 });
    const value = tokens.add();
    await auth.authenticate(value);
    assert.equal(tokens.reads, 1);
    // Changed behind this replica's back: seen only after recheckMs.
    tokens.records.get(idOf(value))!.enabled = false;
    clock.now = start + 1000;
    await auth.authenticate(value);
    assert.equal(tokens.reads, 1);
    clock.now = start + 1001;
    await refused(auth.authenticate(value), 'DRV_ERR_UNAUTHENTICATED');
    assert.equal(tokens.reads, 2);
  });

  it('rechecks every 5 s by default', async () => {
    const { tokens, auth, clock } = setup();
    const value = tokens.add();
    await auth.authenticate(value);
    clock.now = start + 5000;
    await auth.authenticate(value);
    assert.equal(tokens.reads, 1);
    clock.now = start + 5001;
    await auth.authenticate(value);
    assert.equal(tokens.reads, 2);
  });

  it('does not cache unknown ids, so attackers cannot fill memory', async () => {
    const { auth } = setup();
    for (let i = 0; i < 20; i++) await refused(auth.authenticate(generateToken().value), 'DRV_ERR_UNAUTHENTICATED');
    assert.equal(auth.size, 0);
  });

  it('forgets a cached token whose record is gone when it is read again', async () => {
    const { tokens, auth, clock } = setup();
    const value = tokens.add();
    await auth.authenticate(value);
    tokens.records.delete(idOf(value));
    clock.now = start + 6000;
    await refused(auth.authenticate(value), 'DRV_ERR_UNAUTHENTICATED');
    assert.equal(auth.size, 0);
  });

  it('stays within maxEntries, evicting the least recently used', async () => {
    const { tokens, auth } = setup({ maxEntries: 2 });
    const [a, b, c] = [tokens.add(), tokens.add(), tokens.add()];
    await auth.authenticate(a);
    await auth.authenticate(b);
    await auth.authenticate(c);
    assert.equal(auth.size, 2);
    const reads = tokens.reads;
    await auth.authenticate(c);
    await auth.authenticate(b);
    assert.equal(tokens.reads, reads, 'the two newest are still cached');
    await auth.authenticate(a);
    assert.equal(tokens.reads, reads + 1, 'the oldest was evicted');
  });

  // Used from the cache (b still fresh) or read again (b's record still fresh, a's expired):
  // either way a was touched after b, so b goes first when c comes in.
  for (const touch of ['used', 'reloaded'] as const) {
    it(`keeps a token ${touch} after another when the cache is full, evicting the other`, async () => {
      const { tokens, auth, clock } = setup({ maxEntries: 2, recheckMs: 1000 });
      const [a, b, c] = [tokens.add(), tokens.add(), tokens.add()];
      await auth.authenticate(a);
      clock.now = start + 500;
      await auth.authenticate(b);
      clock.now = touch === 'used' ? start + 900 : start + 1001;
      const beforeTouch = tokens.reads;
      await auth.authenticate(a);
      assert.equal(tokens.reads, beforeTouch + (touch === 'used' ? 0 : 1));
      await auth.authenticate(c);
      const reads = tokens.reads;
      await auth.authenticate(a);
      assert.equal(tokens.reads, reads, `a was ${touch} after b was loaded, so b went first`);
      await auth.authenticate(b);
      assert.equal(tokens.reads, reads + 1);
    });
  }

  it('reloading a cached token at the limit evicts nothing else', async () => {
    const { tokens, auth, clock } = setup({ maxEntries: 2, recheckMs: 1000 });
    const [a, b] = [tokens.add(), tokens.add()];
    await auth.authenticate(a);
    clock.now = start + 500;
    await auth.authenticate(b);
    clock.now = start + 1501;
    const reads = tokens.reads;
    await auth.authenticate(b);
    assert.equal(tokens.reads, reads + 1, 'b was read again');
    assert.equal(auth.size, 2);
  });

  it('holds 10,000 entries by default', async () => {
    const { tokens, auth } = setup();
    const values = Array.from({ length: 10_001 }, () => tokens.add());
    for (const v of values) await auth.authenticate(v);
    assert.equal(auth.size, 10_000);
  });

  it('revocation through this replica takes effect on the next request', async () => {
    const { tokens, auth } = setup();
    const value = tokens.add();
    const other = tokens.add();
    await auth.authenticate(value);
    await auth.authenticate(other);
    tokens.records.get(idOf(value))!.enabled = false;
    auth.invalidateToken(idOf(value));
    assert.equal(auth.size, 1, 'only the invalidated token was dropped');
    await refused(auth.authenticate(value), 'DRV_ERR_UNAUTHENTICATED');
  });

  it('disabling a user through this replica refuses all their cached tokens at once, and only theirs', async () => {
    const { tokens, auth } = setup();
    const first = tokens.add();
    const second = tokens.add();
    const bob = tokens.add({}, { id: 'u-bob', username: 'bob' });
    for (const v of [first, second, bob]) await auth.authenticate(v);
    for (const v of [first, second]) tokens.records.get(idOf(v))!.user.enabled = false;
    auth.invalidateUser('u-alice');
    await refused(auth.authenticate(first), 'DRV_ERR_USER_DISABLED');
    await refused(auth.authenticate(second), 'DRV_ERR_USER_DISABLED');
    const reads = tokens.reads;
    assert.equal((await auth.authenticate(bob)).username, 'bob');
    assert.equal(tokens.reads, reads, "bob's entry stayed cached");
  });

  it('clear() drops every entry', async () => {
    const { tokens, auth } = setup();
    await auth.authenticate(tokens.add());
    await auth.authenticate(tokens.add());
    auth.clear();
    assert.equal(auth.size, 0);
  });

  it('does not re-cache a record read before an invalidation that raced it', async () => {
    for (const invalidate of [
      (a: CachedTokenAuthenticator, id: string) => a.invalidateToken(id),
      (a: CachedTokenAuthenticator) => a.invalidateUser('u-alice'),
      (a: CachedTokenAuthenticator) => a.clear(),
    ]) {
      const { tokens, auth } = setup();
      const value = tokens.add();
      tokens.duringRead = () => invalidate(auth, idOf(value));
      await auth.authenticate(value);
      assert.equal(auth.size, 0, invalidate.toString());
      await auth.authenticate(value);
      assert.equal(auth.size, 1);
    }
  });

  it('announces every invalidation to listeners until they unsubscribe, even when one throws', () => {
    const { auth, warnings } = setup();
    const seen: TokenInvalidation[] = [];
    auth.onInvalidate(() => { throw new Error('listener bug'); });
    const unsubscribe = auth.onInvalidate((change) => seen.push(change));
    auth.invalidateToken('token-abcdef');
    auth.invalidateUser('u-alice');
    auth.clear();
    assert.deepEqual(seen, [{ kind: 'token', tokenId: 'token-abcdef' }, { kind: 'user', userId: 'u-alice' }, { kind: 'all' }]);
    assert.deepEqual(warnings, ['token invalidation listener failed', 'token invalidation listener failed', 'token invalidation listener failed']);
    assert.equal(unsubscribe(), true);
    auth.clear();
    assert.equal(seen.length, 3);
  });

  it('writes last-used at most once per interval, with the time of use', async () => {
    const { tokens, auth, clock } = setup({ lastUsedIntervalMs: 1000 });
    const value = tokens.add();
    await auth.authenticate(value);
    await auth.authenticate(value);
    assert.deepEqual(tokens.touched, [[idOf(value), new Date(start).toISOString()]]);
    clock.now = start + 999;
    await auth.authenticate(value);
    assert.equal(tokens.touched.length, 1);
    clock.now = start + 1000;
    await auth.authenticate(value);
    assert.deepEqual(tokens.touched[1], [idOf(value), new Date(start + 1000).toISOString()]);
  });

  it('keeps the last-used time across a recheck, and writes it once a minute by default', async () => {
    const { tokens, auth, clock } = setup();
    const value = tokens.add();
    await auth.authenticate(value);
    clock.now = start + 59_999;
    await auth.authenticate(value);
    assert.equal(tokens.reads, 2, 'reloaded after 5 s');
    assert.equal(tokens.touched.length, 1, 'the reload did not forget the last write');
    clock.now = start + 60_000;
    await auth.authenticate(value);
    assert.equal(tokens.touched.length, 2);
  });

  it('a failed last-used write is logged and does not fail the request', async () => {
    const { tokens, auth, warnings } = setup();
    tokens.failTouch = true;
    assert.equal((await auth.authenticate(tokens.add())).username, 'alice');
    await settle();
    assert.deepEqual(warnings, ['could not record token last-used time']);
  });
});

/** The synchronous answer must refuse whatever `authenticate` refuses, and never answer from a record it should not trust. */
describe('CachedTokenAuthenticator.authenticateCached (the proxy hot path), from an attacker\'s side', () => {
  /** Runs `fn`, which must throw a DroverError of `code` synchronously. */
  const throwsCode = (fn: () => unknown, code: string): void => {
    assert.throws(fn, (e: unknown) => (e as { code?: string }).code === code);
  };

  it('answers a cached good token without reading the store, and nothing for a token it has not cached', async () => {
    const { tokens, auth } = setup();
    const value = tokens.add();
    assert.equal(auth.authenticateCached(`Bearer ${value}`), undefined, 'not cached yet: authenticate decides');
    await auth.authenticate(`Bearer ${value}`);
    const reads = tokens.reads;
    assert.equal(auth.authenticateCached(`Bearer ${value}`)?.username, 'alice');
    assert.equal(tokens.reads, reads);
  });

  it('refuses a forged secret for a cached id at once, even one differing in the last character', async () => {
    const { tokens, auth } = setup();
    const value = tokens.add();
    await auth.authenticate(value);
    const secret = secretOf(value);
    const lastChanged = `${idOf(value)}:${secret.slice(0, -1)}${secret.endsWith('a') ? 'b' : 'a'}`;
    throwsCode(() => auth.authenticateCached(lastChanged), 'DRV_ERR_UNAUTHENTICATED');
    throwsCode(() => auth.authenticateCached(formatToken(idOf(value), generateToken().secret)), 'DRV_ERR_UNAUTHENTICATED');
  });

  it("never answers one user's token with another's cached record", async () => {
    const { tokens, auth } = setup();
    const alice = tokens.add();
    const bob = tokens.add({}, { id: 'u-bob', username: 'bob' });
    await auth.authenticate(alice);
    await auth.authenticate(bob);
    // Bob's secret under Alice's id, and Alice's under Bob's.
    throwsCode(() => auth.authenticateCached(formatToken(idOf(alice), secretOf(bob))), 'DRV_ERR_UNAUTHENTICATED');
    throwsCode(() => auth.authenticateCached(formatToken(idOf(bob), secretOf(alice))), 'DRV_ERR_UNAUTHENTICATED');
    assert.equal(auth.authenticateCached(bob)?.id, 'u-bob');
  });

  it('stops answering for a revoked token and a disabled user on the next request, and authenticate refuses them', async () => {
    const { tokens, auth } = setup();
    const revoked = tokens.add();
    const disabled = tokens.add({}, { id: 'u-carol', username: 'carol' });
    await auth.authenticate(revoked);
    await auth.authenticate(disabled);
    tokens.records.get(idOf(revoked))!.enabled = false;
    auth.invalidateToken(idOf(revoked));
    tokens.records.get(idOf(disabled))!.user.enabled = false;
    auth.dropUser('u-carol');
    assert.equal(auth.authenticateCached(revoked), undefined);
    assert.equal(auth.authenticateCached(disabled), undefined);
    await refused(auth.authenticate(revoked), 'DRV_ERR_UNAUTHENTICATED');
    await refused(auth.authenticate(disabled), 'DRV_ERR_USER_DISABLED');
    // Re-cached as refused records, they are refused synchronously too.
    throwsCode(() => auth.authenticateCached(revoked), 'DRV_ERR_UNAUTHENTICATED');
    throwsCode(() => auth.authenticateCached(disabled), 'DRV_ERR_USER_DISABLED');
  });

  it('refuses an expired token from the cache at the millisecond it expires', async () => {
    const { tokens, auth, clock } = setup({ recheckMs: 60_000 });
    const value = tokens.add({ expiresAt: new Date(start + 1000).toISOString() });
    await auth.authenticate(value);
    clock.now = start + 999;
    assert.equal(auth.authenticateCached(value)?.username, 'alice');
    clock.now = start + 1000;
    throwsCode(() => auth.authenticateCached(value), 'DRV_ERR_TOKEN_EXPIRED');
  });

  it('never answers from a record older than recheckMs (another replica may have changed it)', async () => {
    const { tokens, auth, clock } = setup({ recheckMs: 1000 });
    const value = tokens.add();
    await auth.authenticate(value);
    clock.now = start + 1000;
    assert.equal(auth.authenticateCached(value)?.username, 'alice');
    clock.now = start + 1001;
    assert.equal(auth.authenticateCached(value), undefined);
  });

  it('refuses a malformed credential synchronously and caches nothing for unknown ids', () => {
    const { tokens, auth } = setup();
    throwsCode(() => auth.authenticateCached(undefined), 'DRV_ERR_UNAUTHENTICATED');
    throwsCode(() => auth.authenticateCached('Bearer token-abcde'), 'DRV_ERR_UNAUTHENTICATED');
    assert.equal(auth.authenticateCached(generateToken().value), undefined);
    assert.equal(tokens.reads, 0);
    assert.equal(auth.size, 0);
  });
});
