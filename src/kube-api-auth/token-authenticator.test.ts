import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashTokenSecret } from '../tokens/index.ts';
import { TokenReviewAuthenticator, type TokenRecordsReader } from './token-authenticator.ts';
import { clusterAuthToken, clusterUserAttribute, type ClusterAuthToken, type ClusterAuthTokenSpec, type ClusterUserAttribute } from './crds.ts';

const secret = 'S'.repeat(43);
const id = 'token-abc123def456';
const now = Date.parse('2026-01-01T00:00:00Z');

function records(options: {
  token?: Partial<ClusterAuthTokenSpec> | null; user?: Partial<ClusterUserAttribute['spec']> | null; clusterId?: string; synced?: boolean;
} = {}): TokenRecordsReader {
  const tokens = new Map<string, ClusterAuthToken>();
  const users = new Map<string, ClusterUserAttribute>();
  if (options.token !== null) tokens.set(id, clusterAuthToken({ userId: 'u-1', clusterId: 'c-1', hash: hashTokenSecret(secret), enabled: true, ...options.token }, id));
  if (options.user !== null) users.set('u-1', clusterUserAttribute({ userId: 'u-1', username: 'alice', groups: ['github_team://7'], enabled: true, ...options.user }));
  const synced = options.synced ?? true;
  return {
    tokens: { get: (_ns, name) => tokens.get(name), hasSynced: synced },
    users: { get: (_ns, name) => users.get(name), hasSynced: synced },
    clusterId: () => ('clusterId' in options ? options.clusterId : 'c-1'),
  };
}

const review = (r: TokenRecordsReader, token = `${id}:${secret}`) => new TokenReviewAuthenticator({ records: r, clock: () => now }).review(token);

describe('TokenReviewAuthenticator', () => {
  it('authenticates a good token as the user id with its groups plus system:authenticated', () => {
    const outcome = review(records());
    assert.deepEqual(outcome, { kind: 'authenticated', tokenId: id, user: { username: 'u-1', uid: 'u-1', groups: ['github_team://7', 'system:authenticated'] } });
  });

  const refusals: Array<[string, TokenRecordsReader, string, string?]> = [
    ['a wrong secret for a valid id', records(), 'wrong secret', `${id}:${'X'.repeat(43)}`],
    ['an unknown id', records({ token: null }), 'unknown token'],
    ['a record for another cluster', records({ token: { clusterId: 'c-2' } }), 'token belongs to another cluster'],
    ['a disabled token', records({ token: { enabled: false } }), 'token disabled'],
    ['an expired token', records({ token: { expiresAt: '2025-12-31T23:59:59Z' } }), 'token expired'],
    ['a token with an unreadable expiry', records({ token: { expiresAt: 'soon' } }), 'token expired'],
    ['a disabled user', records({ user: { enabled: false } }), 'user disabled'],
    ['a missing user attribute', records({ user: null }), 'no user attribute'],
    ['an attribute for someone else', records({ user: { userId: 'u-2' } }), 'user attribute does not match the token'],
    ['any token before the caches listed', records({ synced: false }), 'token records not synced yet'],
    ['any token while the cluster id is unknown', records({ clusterId: undefined }), 'cluster id unknown: the drover-ace ConfigMap is missing'],
    ['a value that is not a Drover token', records(), 'not a Drover token', 'eyJhbGciOi.x.y'],
    ['a token with no secret', records(), 'not a Drover token', `${id}:`],
    ['an oversized token', records(), 'not a Drover token', `${id}:${'A'.repeat(10_000)}`],
  ];
  for (const [what, r, reason, token] of refusals) {
    it(`refuses ${what}`, () => {
      const outcome = review(r, token);
      assert.equal(outcome.kind, 'refused');
      assert.equal(outcome.kind === 'refused' && outcome.reason, reason);
    });
  }

  it('refuses while either cache has not listed yet', () => {
    for (const [tokensSynced, usersSynced] of [[false, true], [true, false]] as const) {
      const r = records();
      const outcome = review({ ...r, tokens: { ...r.tokens, hasSynced: tokensSynced }, users: { ...r.users, hasSynced: usersSynced } });
      assert.deepEqual(outcome, { kind: 'refused', reason: 'token records not synced yet', tokenId: id });
    }
  });

  it('names the token in a refusal once it has parsed, and nothing for a value that is not a token', () => {
    assert.deepEqual(review(records({ token: { enabled: false } })), { kind: 'refused', reason: 'token disabled', tokenId: id });
    assert.deepEqual(review(records(), 'garbage'), { kind: 'refused', reason: 'not a Drover token' });
  });

  it('treats an expiry at this very millisecond as expired, and one a millisecond later as valid', () => {
    assert.equal(review(records({ token: { expiresAt: new Date(now).toISOString() } })).kind, 'refused');
    assert.equal(review(records({ token: { expiresAt: new Date(now + 1).toISOString() } })).kind, 'authenticated');
  });

  it('refuses a token record that has no spec as unknown', () => {
    const r = records();
    const bare = { ...r, tokens: { ...r.tokens, get: () => ({ apiVersion: 'x', kind: 'ClusterAuthToken', metadata: { name: id } }) as unknown as ClusterAuthToken } };
    assert.deepEqual(review(bare), { kind: 'refused', reason: 'unknown token', tokenId: id });
  });

  it('uses the real clock by default', () => {
    const past = records({ token: { expiresAt: new Date(Date.now() - 60_000).toISOString() } });
    const future = records({ token: { expiresAt: new Date(Date.now() + 3_600_000).toISOString() } });
    assert.equal(new TokenReviewAuthenticator({ records: past }).review(`${id}:${secret}`).kind, 'refused');
    assert.equal(new TokenReviewAuthenticator({ records: future }).review(`${id}:${secret}`).kind, 'authenticated');
  });

  it('accepts only enabled: true, not a truthy look-alike, on the token and the user', () => {
    for (const enabled of ['true', 1, undefined] as unknown as boolean[]) {
      assert.equal(review(records({ token: { enabled } })).kind, 'refused', String(enabled));
      assert.equal(review(records({ user: { enabled } })).kind, 'refused', String(enabled));
    }
  });

  it('ignores groups that are not a list, and never repeats system:authenticated', () => {
    const notAList = review(records({ user: { groups: 'system:masters' as unknown as string[] } }));
    assert.deepEqual(notAList.kind === 'authenticated' && notAList.user.groups, ['system:authenticated']);
    const repeated = review(records({ user: { groups: ['system:authenticated', 'g', 'g'] } }));
    assert.deepEqual(repeated.kind === 'authenticated' && repeated.user.groups, ['system:authenticated', 'g']);
  });

  it('never puts the secret in a refusal', () => {
    const outcome = review(records(), `${id}:${'Q'.repeat(43)}`);
    assert.doesNotMatch(JSON.stringify(outcome), /QQQQ/);
  });
});
