import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DroverError } from '../errors/index.ts';
import { silentLogger } from '../logging/index.ts';
import type { AuthenticatedUser } from '../identity/index.ts';
import { OpenStreams, type StreamOwner } from './open-streams.ts';

const owner = (userId: string, tokenId: string, clusterId = 'c-one'): StreamOwner => ({
  clusterId, credential: `Bearer ${tokenId}:secret`,
  user: { id: userId, username: userId, displayName: userId, provider: 'local', principalIds: [], groups: [], globalRole: 'user', token: { id: tokenId } } satisfies AuthenticatedUser,
});

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A registry whose re-check refuses the tokens in `refused` (and fails with a 500-ish error for those in `broken`). */
function registry(intervalMs = 3_600_000) {
  const refused = new Set<string>();
  const broken = new Set<string>();
  const checked: string[] = [];
  const streams = new OpenStreams({
    logger: silentLogger(), intervalMs,
    recheck: (o) => {
      checked.push(`${o.clusterId}/${o.user.token.id}`);
      if (broken.has(o.user.token.id)) return Promise.reject(new Error('database is locked'));
      return refused.has(o.user.token.id) ? Promise.reject(new DroverError('DRV_ERR_UNAUTHENTICATED', 'invalid or revoked token')) : Promise.resolve();
    },
  });
  return { streams, refused, broken, checked };
}

describe('OpenStreams: open streams end when access ends', () => {
  it('ends every stream of a revoked token with the reason, and only those', async () => {
    const { streams, refused } = registry();
    const ended: string[] = [];
    streams.open(owner('u-a', 't-1'), (why) => ended.push(`a1 ${why.code} ${why.message}`));
    streams.open(owner('u-a', 't-1'), () => ended.push('a1 again'));
    streams.open(owner('u-a', 't-2'), () => ended.push('a2'));
    streams.open(owner('u-b', 't-3'), () => ended.push('b3'));
    refused.add('t-1');
    streams.accessChanged({ kind: 'token', tokenId: 't-1' });
    await settle();
    assert.equal(ended.length, 2);
    assert.match(ended[0] ?? '', /^a1 DRV_ERR_UNAUTHENTICATED access to cluster c-one ended while this stream was open: invalid or revoked token/);
    streams.close();
  });

  it('re-checks only what a change can touch: a user\'s tokens, or one cluster\'s streams', async () => {
    const { streams, checked } = registry();
    streams.open(owner('u-a', 't-1', 'c-one'), () => undefined);
    streams.open(owner('u-a', 't-1', 'c-two'), () => undefined);
    streams.open(owner('u-b', 't-3', 'c-one'), () => undefined);
    streams.accessChanged({ kind: 'user', userId: 'u-a' });
    await settle();
    assert.deepEqual(checked.sort(), ['c-one/t-1', 'c-two/t-1']);
    checked.length = 0;
    streams.accessChanged({ kind: 'cluster', clusterId: 'c-one' });
    await settle();
    assert.deepEqual(checked.sort(), ['c-one/t-1', 'c-one/t-3']);
    streams.close();
  });

  it('keeps streams when the check itself fails (store down), and ends them once it refuses', async () => {
    const { streams, broken, refused } = registry();
    let ended = 0;
    streams.open(owner('u-a', 't-1'), () => { ended++; });
    broken.add('t-1');
    streams.accessChanged({ kind: 'all' });
    await settle();
    assert.equal(ended, 0);
    broken.delete('t-1');
    refused.add('t-1');
    streams.accessChanged({ kind: 'all' });
    await settle();
    assert.equal(ended, 1);
    streams.close();
  });

  it('forgets a stream once released, and checks nothing when nothing is open', async () => {
    const { streams, checked } = registry();
    const release = streams.open(owner('u-a', 't-1'), () => assert.fail('a released stream was ended'));
    assert.equal(streams.size, 1);
    release();
    assert.equal(streams.size, 0);
    streams.accessChanged({ kind: 'all' });
    await settle();
    assert.deepEqual(checked, []);
    streams.close();
  });

  it('keeps streams opened with different groups apart, so the one carrying a lost group is ended', async () => {
    const checked: string[][] = [];
    const streams = new OpenStreams({
      logger: silentLogger(), intervalMs: 3_600_000,
      recheck: (o) => {
        checked.push(o.user.groups);
        return o.user.groups.includes('github_team://b') ? Promise.reject(new DroverError('DRV_ERR_FORBIDDEN', 'you are no longer in "github_team://b"')) : Promise.resolve();
      },
    });
    const before = owner('u-a', 't-1');
    const after = { ...before, user: { ...before.user, groups: ['github_team://b'] } };
    const ended: string[] = [];
    streams.open(before, () => ended.push('opened before the group was added'));
    streams.open(after, () => ended.push('opened with the group'));
    streams.accessChanged({ kind: 'user', userId: 'u-a' });
    await settle();
    assert.equal(checked.length, 2);
    assert.deepEqual(ended, ['opened with the group']);
    streams.close();
  });

  it('runs one check per group at a time, and one more for changes that came meanwhile', async () => {
    let calls = 0;
    let finish: () => void = () => undefined;
    const streams = new OpenStreams({
      logger: silentLogger(), intervalMs: 3_600_000,
      recheck: () => { calls++; return new Promise<void>((r) => { finish = r; }); },
    });
    streams.open(owner('u-a', 't-1'), () => undefined);
    for (let i = 0; i < 5; i++) streams.accessChanged({ kind: 'all' });
    assert.equal(calls, 1);
    finish();
    await settle();
    assert.equal(calls, 2);
    finish();
    await settle();
    assert.equal(calls, 2);
    streams.close();
  });

  it('checks open streams periodically without any event (token expiry, other replicas)', async () => {
    const { streams, refused } = registry(20);
    let ended = false;
    streams.open(owner('u-a', 't-1'), () => { ended = true; });
    refused.add('t-1');
    const deadline = Date.now() + 10_000;
    while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ended, 'the periodic pass never ended the stream');
    streams.close();
  });
});
