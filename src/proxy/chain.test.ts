import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import {
  authenticate, ensureImpersonation, parseClusterPath, recheckAccess, refuseUpgradeBody, resolveCluster, routeRootPath, stripCallerIdentity,
  type ProxyContext, type ProxyDeps,
} from './chain.ts';
import { DroverError } from '../errors/index.ts';
import { silentLogger } from '../logging/index.ts';
import { UpstreamPools } from './upstream.ts';
import type { AuthenticatedUser } from '../identity/index.ts';

const user = (over: Partial<AuthenticatedUser> = {}): AuthenticatedUser => ({
  id: 'u-alice', username: 'alice', displayName: 'Alice', provider: 'local', principalIds: ['local://u-alice'], groups: [],
  globalRole: 'user', token: { id: 'token-a' }, ...over,
});

function deps(over: Partial<ProxyDeps> = {}): ProxyDeps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    authenticator: { authenticate: (h) => { calls.push(`auth ${h}`); return Promise.resolve(user()); } },
    membership: { canAccessCluster: (u) => Promise.resolve(u.globalRole === 'admin') },
    clusters: {
      live: (id) => { calls.push(`live ${id}`); return undefined; },
      describe: (id) => { calls.push(`describe ${id}`); return Promise.reject(new DroverError('DRV_ERR_NOT_FOUND', 'no cluster')); },
    },
    accounts: { tokenFor: () => Promise.resolve('sa-token') },
    pools: new UpstreamPools(),
    streams: { open: () => () => undefined },
    logger: silentLogger(),
    ...over,
  };
}

/** What Node makes of raw headers: lower-case names, the first value kept. */
const headersOf = (raw: string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) out[(raw[i] ?? '').toLowerCase()] ??= raw[i + 1] ?? '';
  return out;
};

const ctxWith = (rawHeaders: string[], extra: Partial<ProxyContext> = {}): ProxyContext => ({
  req: { rawHeaders, headers: headersOf(rawHeaders), url: '/k8s/clusters/c-one/api' } as unknown as IncomingMessage,
  kind: { type: 'http', res: undefined as never },
  path: { clusterId: 'c-one', downstreamPath: '/api' },
  ...extra,
});

/** A step may refuse by throwing or by rejecting: either is its answer. */
const statusOf = async (run: () => Promise<void> | void): Promise<number | undefined> => {
  try {
    await run();
    return undefined;
  } catch (error) {
    return error instanceof DroverError ? error.status : -1;
  }
};

describe('proxy chain steps', () => {
  const refusedCredentials: Array<[string, string[]]> = [
    ['no credential at all', []],
    ['a session cookie only', ['Cookie', 'R_SESS=token-a:secret']],
    ['Basic authentication', ['Authorization', 'Basic YWxpY2U6cHc=']],
    ['two Authorization headers in different casings', ['Authorization', 'Bearer a', 'AUTHORIZATION', 'Bearer b']],
    ['an empty bearer', ['Authorization', 'Bearer ']],
  ];
  for (const [what, headers] of refusedCredentials) {
    it(`refuses ${what} with 401 without asking the authenticator`, async () => {
      const d = deps();
      assert.equal(await statusOf(() => authenticate(ctxWith(headers), d)), 401);
      assert.deepEqual(d.calls, []);
    });
  }

  it('refuses a cluster-scoped token on another cluster with 403, before membership or the cluster is looked at', async () => {
    const d = deps({ authenticator: { authenticate: () => Promise.resolve(user({ globalRole: 'admin', token: { id: 't', clusterId: 'c-two' } })) } });
    const ctx = ctxWith(['Authorization', 'Bearer x']);
    await authenticate(ctx, d);
    assert.equal(await statusOf(() => resolveCluster(ctx, d)), 403);
    assert.deepEqual(d.calls, []);
  });

  it('sends a root Kubernetes path (kubectl get --raw) to the cluster its token is scoped to', async () => {
    const d = deps({ authenticator: { authenticate: () => Promise.resolve(user({ token: { id: 't', clusterId: 'c-two' } })) } });
    const ctx = ctxWith(['Authorization', 'Bearer x'], { req: { rawHeaders: ['Authorization', 'Bearer x'], headers: { authorization: 'Bearer x' }, url: '/api/v1/namespaces?limit=1' } as unknown as IncomingMessage });
    delete ctx.path;
    await parseClusterPath(ctx, d);
    assert.equal(ctx.path, undefined);
    await authenticate(ctx, d);
    await routeRootPath(ctx, d);
    assert.deepEqual(ctx.path, { clusterId: 'c-two', downstreamPath: '/api/v1/namespaces?limit=1' });
  });

  it('answers 404 for a root Kubernetes path with a token that names no cluster', async () => {
    const ctx = ctxWith(['Authorization', 'Bearer x'], { req: { rawHeaders: ['Authorization', 'Bearer x'], headers: { authorization: 'Bearer x' }, url: '/version' } as unknown as IncomingMessage });
    delete ctx.path;
    await parseClusterPath(ctx, deps());
    await authenticate(ctx, deps());
    assert.equal(await statusOf(() => routeRootPath(ctx, deps())), 404);
    assert.equal(ctx.path, undefined);
  });

  it('refuses a non-member with 403 before looking the cluster up', async () => {
    const d = deps();
    assert.equal(await statusOf(() => resolveCluster(ctxWith([], { user: user() }), d)), 403);
    assert.deepEqual(d.calls, []);
  });

  // The synchronous answers (authenticateCached, canAccessClusterNow) are only a faster way to the same verdict.
  it('takes a cached refusal as final: 401 with no call to authenticate', async () => {
    const d = deps({
      authenticator: {
        authenticateCached: () => { throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'invalid or revoked token'); },
        authenticate: () => Promise.resolve(user()),
      },
    });
    assert.equal(await statusOf(() => authenticate(ctxWith(['Authorization', 'Bearer x']), d)), 401);
    const expired = deps({ authenticator: { authenticateCached: () => { throw new DroverError('DRV_ERR_TOKEN_EXPIRED', 'token has expired'); }, authenticate: () => Promise.resolve(user()) } });
    assert.equal(await statusOf(() => authenticate(ctxWith(['Authorization', 'Bearer x']), expired)), 401);
  });

  it('lets authenticate decide when the cache has no answer, and refuses what it refuses', async () => {
    const asked: string[] = [];
    const d = deps({
      authenticator: {
        authenticateCached: () => undefined,
        authenticate: (h) => { asked.push(h ?? ''); return Promise.reject(new DroverError('DRV_ERR_UNAUTHENTICATED', 'invalid or revoked token')); },
      },
    });
    const ctx = ctxWith(['Authorization', 'Bearer x']);
    assert.equal(await statusOf(() => authenticate(ctx, d)), 401);
    assert.deepEqual(asked, ['Bearer x']);
    assert.equal(ctx.user, undefined);
  });

  it('refuses a must-change-password user answered from the cache, as from the store', async () => {
    const d = deps({ authenticator: { authenticateCached: () => user({ token: { id: 't', passwordChangeOnly: true } }), authenticate: () => Promise.resolve(user()) } });
    const ctx = ctxWith(['Authorization', 'Bearer x']);
    assert.equal(await statusOf(() => authenticate(ctx, d)), 403);
    assert.equal(ctx.user, undefined);
  });

  it('refuses a non-member answered now with 403 before the cluster is looked up, and asks canAccessCluster when membership cannot answer now', async () => {
    const now = deps({ membership: { canAccessClusterNow: () => false, canAccessCluster: () => Promise.resolve(true) } });
    assert.equal(await statusOf(() => resolveCluster(ctxWith([], { user: user() }), now)), 403);
    assert.deepEqual(now.calls, []);
    const later = deps({ membership: { canAccessClusterNow: () => undefined, canAccessCluster: () => Promise.resolve(false) } });
    assert.equal(await statusOf(() => resolveCluster(ctxWith([], { user: user() }), later)), 403);
    assert.deepEqual(later.calls, []);
    // A cluster-scoped token is refused on another cluster even when membership would say yes at once.
    const scoped = deps({ membership: { canAccessClusterNow: () => true, canAccessCluster: () => Promise.resolve(true) } });
    assert.equal(await statusOf(() => resolveCluster(ctxWith([], { user: user({ token: { id: 't', clusterId: 'c-two' } }) }), scoped)), 403);
    assert.deepEqual(scoped.calls, []);
  });

  it('uses a live cluster without a promise once token and membership answered from memory', () => {
    const live = {} as never;
    const d = deps({
      authenticator: { authenticateCached: () => user(), authenticate: () => Promise.reject(new Error('not asked')) },
      membership: { canAccessClusterNow: () => true, canAccessCluster: () => Promise.reject(new Error('not asked')) },
      clusters: { live: () => live, describe: () => Promise.reject(new Error('not asked')) },
    });
    const ctx = ctxWith(['Authorization', 'Bearer x']);
    assert.equal(authenticate(ctx, d), undefined);
    assert.equal(resolveCluster(ctx, d), undefined);
    assert.equal(ctx.cluster, live);
  });

  it('answers 404 for an unknown cluster and 503 with the reason for one not Active', async () => {
    assert.equal(await statusOf(() => resolveCluster(ctxWith([], { user: user({ globalRole: 'admin' }) }), deps())), 404);
    const down = deps({ clusters: { live: () => undefined, describe: (id) => Promise.resolve({ id, state: 'unavailable', stateReason: 'cluster agent disconnected' }) } });
    await assert.rejects(Promise.resolve(resolveCluster(ctxWith([], { user: user({ globalRole: 'admin' }) }), down)),
      (e: unknown) => e instanceof DroverError && e.status === 503 && /cluster agent disconnected/.test(e.message));
  });

  it('refuses an Impersonate-Extra header without Impersonate-User with 400', async () => {
    assert.equal(await statusOf(() => stripCallerIdentity(ctxWith(['Impersonate-Extra-Principalid', 'x']), deps())), 400);
  });

  it('sends the account token and the user, both authenticated groups and the two extras, and nothing the caller sent', async () => {
    const ctx = ctxWith(['Authorization', 'Bearer caller', 'Cookie', 'a=b', 'X-Remote-User', 'root', 'Accept', 'application/json'], {
      user: user({ groups: ['github_team://1', 'system:masters'] }), cluster: {} as never,
    });
    await stripCallerIdentity(ctx, deps());
    await ensureImpersonation(ctx, deps());
    assert.deepEqual(ctx.scrubbed?.forward, [['accept', 'application/json']]);
    assert.deepEqual(ctx.egressIdentity, [
      ['authorization', 'Bearer sa-token'], ['impersonate-user', 'u-alice'],
      ['impersonate-group', 'github_team://1'], ['impersonate-group', 'system:authenticated'], ['impersonate-group', 'system:cattle:authenticated'],
      ['impersonate-extra-principalid', 'local://u-alice'], ['impersonate-extra-username', 'alice'],
    ]);
  });

  // An attacker's upgrade that declares a body would stall kube-apiserver (nothing may be sent before the 101).
  const upgradeBodies: Array<[string, string[], boolean]> = [
    ['no body headers', [], true],
    ['Content-Length: 0', ['Content-Length', '0'], true],
    ['Content-Length: 0 with blanks', ['Content-Length', ' 0 '], true],
    ['Content-Length: 5', ['Content-Length', '5'], false],
    ['Content-Length: 00', ['Content-Length', '00'], false],
    ['Content-Length: -0', ['Content-Length', '-0'], false],
    ['an empty Content-Length', ['Content-Length', ''], false],
    ['Content-Length twice, both 0', ['Content-Length', '0', 'content-length', '0'], false],
    ['Content-Length 0 then 5 in another casing', ['Content-Length', '0', 'CONTENT-LENGTH', '5'], false],
    ['Transfer-Encoding: chunked', ['Transfer-Encoding', 'chunked'], false],
    ['Transfer-Encoding: identity', ['transfer-encoding', 'identity'], false],
    ['an empty Transfer-Encoding with Content-Length: 0', ['Content-Length', '0', 'Transfer-Encoding', ''], false],
  ];
  for (const [what, headers, allowed] of upgradeBodies) {
    it(`${allowed ? 'lets through' : 'refuses with 400'} an upgrade with ${what}`, async () => {
      const ctx = ctxWith(['Connection', 'Upgrade', 'Upgrade', 'websocket', ...headers]);
      assert.equal(await statusOf(() => refuseUpgradeBody(ctx, deps())), allowed ? undefined : 400);
    });
  }
});

describe('recheckAccess: an open stream checked again with the chain\'s rules', () => {
  const owner = (over: Partial<AuthenticatedUser> = {}) => ({ clusterId: 'c-one', credential: 'Bearer t', user: user(over) });
  const member = { canAccessCluster: (u: Pick<AuthenticatedUser, 'id' | 'globalRole'>, c: string) => Promise.resolve(u.globalRole === 'admin' || (u.id === 'u-alice' && c === 'c-one')) };
  const now = (current: AuthenticatedUser | Error) => ({ authenticate: () => (current instanceof Error ? Promise.reject(current) : Promise.resolve(current)) });

  it('keeps a stream whose user still authenticates and is still a member', async () => {
    await recheckAccess({ authenticator: now(user()), membership: member })(owner());
  });

  const refusals: Array<[string, AuthenticatedUser | Error, Partial<AuthenticatedUser>]> = [
    ['the token was revoked', new DroverError('DRV_ERR_UNAUTHENTICATED', 'invalid or revoked token'), {}],
    ['the token expired', new DroverError('DRV_ERR_TOKEN_EXPIRED', 'token has expired'), {}],
    ['the user was disabled', new DroverError('DRV_ERR_USER_DISABLED', 'user is disabled'), {}],
    ['the user is no longer a member', user({ id: 'u-alice', groups: [] }), {}],
    ['the user lost a group the stream carries', user({ groups: ['github_team://2'] }), { groups: ['github_team://1', 'github_team://2'] }],
    ['the user lost the admin role', user(), { globalRole: 'admin' }],
  ];
  for (const [what, current, opened] of refusals) {
    it(`ends the stream when ${what}`, async () => {
      const membership = what.includes('member') ? { canAccessCluster: () => Promise.resolve(false) } : member;
      const status = await statusOf(() => recheckAccess({ authenticator: now(current), membership })(owner(opened)));
      assert.ok(status === 401 || status === 403, `status ${String(status)}`);
    });
  }

  it('passes a store failure on as it is (not a refusal), so the stream is kept', async () => {
    await assert.rejects(recheckAccess({ authenticator: now(new Error('database is locked')), membership: member })(owner()), /database is locked/);
  });
});
