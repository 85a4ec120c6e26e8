/**
 * Browser logins through OIDC with two real replicas on one real PostgreSQL behind
 * a real HAProxy (no session affinity): the login's state lives in the database
 * (`login_flows`), so a login started on one replica finishes on the other. The
 * password-login throttle's counters are there too (`login_failures`). The
 * OpenID provider is the real oidc-provider library; the test plays the browser and
 * decides which replica each of its requests reaches (the load balancer's address is
 * what the browser sees, so cookies stay with that address, as in a real browser).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startReplicaSet, type ReplicaSet } from '../testenv/replicas.ts';
import { playBrowser, signInAs, startOidcIssuer, type BrowserStep, type OidcIssuer } from '../testenv/oidc-issuer.ts';
import { runCliForTest } from '../../src/testing/index.ts';
import { call, type HttpAnswer, type ServerProcess } from './identity-support.ts';
import { cliBrowserLogin } from './browser-login-support.ts';

const suffix = randomBytes(3).toString('hex');
const sub = `alice-${suffix}`;

describe('browser logins across replicas (no session affinity)', () => {
  let set: ReplicaSet;
  let issuer: OidcIssuer;
  const replica = (i: number): ServerProcess => {
    const r = set.replicas[i];
    if (!r) throw new Error(`no replica ${i}`);
    return r;
  };
  /** Sends the browser's requests for the load balancer's address to replica `start`, and the provider's callback to replica `callback`. */
  const route = (start: number, callback = start) => (url: URL): URL => {
    if (url.host !== new URL(set.lb.url).host) return url;
    const to = new URL(url);
    to.port = String(replica(url.pathname.endsWith('/callback') ? callback : start).port);
    return to;
  };
  const cas = (): string[] => [replica(0).caPem(), issuer.caPem];
  const callbackPrefix = (): string => `${set.lb.url}/v1/auth/oidc/callback`;
  const pathOf = (url: string): string => url.slice(set.lb.url.length);
  const message = (answer: HttpAnswer): string => (answer.json() as { message: string }).message;
  /** A terminal login request opened on replica `on`, its browser part played on that replica up to (not including) the callback. */
  const cliFlowUpToCallback = async (on: number): Promise<{ requestId: string; verifier: string; callbackPath: string }> => {
    const verifier = randomBytes(32).toString('base64url');
    const opened = await call(replica(on), 'POST', '/v1/auth/oidc/cli-login', { body: { challenge: createHash('sha256').update(verifier).digest('base64url') } });
    assert.equal(opened.status, 200, opened.text);
    const { requestId, loginUrl, userCode } = opened.json() as { requestId: string; loginUrl: string; userCode: string };
    const steps = await playBrowser(loginUrl, { cas: cas(), fields: signInAs(sub), userCode, route: route(on), stopAt: (url) => url.startsWith(callbackPrefix()) });
    const callbackUrl = steps.at(-1)?.url ?? '';
    assert.ok(callbackUrl.startsWith(callbackPrefix()), JSON.stringify(steps.map((s) => [s.url, s.status])));
    return { requestId, verifier, callbackPath: pathOf(callbackUrl) };
  };
  /** A UI login started on replica 0 in a browser of its own, stopped before the callback. */
  const uiFlowUpToCallback = async (): Promise<{ callbackPath: string; cookie: string }> => {
    const jar = new Map<string, Map<string, string>>();
    const steps = await playBrowser(`${set.lb.url}/v1/auth/oidc/login?purpose=ui`, { cas: cas(), fields: signInAs(sub), route: route(0), cookies: jar, stopAt: (url) => url.startsWith(callbackPrefix()) });
    const binding = jar.get(new URL(set.lb.url).host)?.get('__Host-drover_login_oidc');
    assert.ok(binding, 'the login set its browser-binding cookie');
    return { callbackPath: pathOf(steps.at(-1)?.url ?? ''), cookie: `__Host-drover_login_oidc=${binding}` };
  };
  const sql = async (text: string): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: set.dbUrl });
    await client.connect();
    try { return await client.query(text); } finally { await client.end(); }
  };

  before(async () => {
    set = await startReplicaSet(2);
    issuer = await startOidcIssuer({ redirectUris: [`${set.lb.url}/v1/auth/oidc/callback`], accounts: [{ sub, preferredUsername: 'alice', name: 'Alice', groups: [] }] });
    const config = join(set.dir, `oidc-${suffix}.yaml`);
    writeFileSync(config, JSON.stringify({ config: { issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret, caPem: issuer.caPem, scopes: ['openid', 'profile'] } }));
    await set.cli('providers', 'configure', 'oidc', '-f', config);
  });
  after(async () => {
    await set?.stop();
    await issuer?.stop();
  });

  it('an admin\'s test login started on replica 1 finishes with its callback on replica 2', async () => {
    const tested = await cliBrowserLogin(replica(0), {
      provider: 'oidc', argv: ['providers', 'test', 'oidc'], configPath: set.configPath, cas: [issuer.caPem], fields: signInAs(sub), route: route(0, 1),
    });
    assert.equal(tested.code, 0, tested.stderr);
    assert.match(tested.browser.at(-1)?.text ?? '', /Test login succeeded/);
    await set.cli('providers', 'enable', 'oidc');
  });

  it('a web UI login started on replica 1 finishes on replica 2, and its session works on replica 1', async () => {
    const steps: BrowserStep[] = await playBrowser(`${set.lb.url}/v1/auth/oidc/login?purpose=ui&returnTo=/clusters`, { cas: cas(), fields: signInAs(sub), route: route(0, 1) });
    const landed = steps.find((s) => s.url.startsWith(callbackPrefix()));
    assert.equal(landed?.status, 302, JSON.stringify(steps.map((s) => [s.url, s.status, s.text.slice(0, 200)])));
    assert.equal(landed.headers.location, '/clusters');
    const session = /__Host-drover_session=([^;]+)/.exec(String(landed.headers['set-cookie']))?.[1];
    assert.ok(session, 'a session cookie was set');
    const me = await call(replica(0), 'GET', '/v1/whoami', { token: session });
    assert.equal(me.status, 200, me.text);
    assert.equal((me.json() as { provider: string }).provider, 'oidc');
  });

  it('drover login --provider oidc: the CLI talks to replica 2 while the browser login runs on replica 1', async () => {
    const configPath = join(set.dir, 'alice-cli.json');
    const r = await cliBrowserLogin(replica(1), { provider: 'oidc', configPath, cas: [issuer.caPem], fields: signInAs(sub), route: route(0) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.browser.at(-1)?.text ?? '', /Return to your terminal/);
    const me = await runCliForTest(['whoami', '-o', 'json'], { configPath, env: {} });
    assert.equal(me.code, 0, me.stderr);
    assert.ok((JSON.parse(me.stdout) as { principalIds: string[] }).principalIds.includes(`oidc_user://${sub}`));
  });

  it('a callback replayed on either replica is refused once it was used; the token is collected once, from either replica', async () => {
    const flow = await cliFlowUpToCallback(0);
    const first = await call(replica(1), 'GET', flow.callbackPath);
    assert.equal(first.status, 200, first.text);
    for (const i of [0, 1]) {
      const replay = await call(replica(i), 'GET', flow.callbackPath);
      assert.equal(replay.status, 400, replay.text);
      assert.match(message(replay), /unknown or was already used; start the login again/);
    }
    const collected = await call(replica(0), 'POST', '/v1/auth/cli-token', { body: { requestId: flow.requestId, verifier: flow.verifier } });
    assert.equal(collected.status, 200, collected.text);
    const again = await call(replica(1), 'POST', '/v1/auth/cli-token', { body: { requestId: flow.requestId, verifier: flow.verifier } });
    assert.equal(again.status, 410, again.text);
  });

  it('a state from another flow is refused: another browser\'s login, another provider\'s callback, another login\'s code', async () => {
    const mine = await uiFlowUpToCallback();
    const theirs = await uiFlowUpToCallback();
    const foreign = await call(replica(1), 'GET', theirs.callbackPath, { headers: { cookie: mine.cookie } });
    assert.equal(foreign.status, 400, foreign.text);
    assert.match(message(foreign), /started in another browser/);
    assert.equal(foreign.headers['set-cookie'], undefined, 'no session');

    const other = await uiFlowUpToCallback();
    const atGithub = await call(replica(1), 'GET', other.callbackPath.replace('/oidc/', '/github/'), { headers: { cookie: other.cookie } });
    assert.equal(atGithub.status, 400, atGithub.text);
    assert.match(message(atGithub), /started for oidc, not github/);

    // One login's state with another login's code: the provider refuses the code (PKCE), no token reaches either CLI.
    const a = await cliFlowUpToCallback(0);
    const b = await cliFlowUpToCallback(0);
    const mixed = new URL(a.callbackPath, set.lb.url);
    mixed.searchParams.set('code', new URL(b.callbackPath, set.lb.url).searchParams.get('code') ?? '');
    const swapped = await call(replica(1), 'GET', `${mixed.pathname}${mixed.search}`);
    assert.ok(swapped.status >= 400, `${swapped.status} ${swapped.text}`);
    const polled = await call(replica(0), 'POST', '/v1/auth/cli-token', { body: { requestId: a.requestId, verifier: a.verifier } });
    assert.equal(polled.status, 401, polled.text);
    assert.match(message(polled), /the browser login failed/);
  });

  it('password guesses spread over both replicas count against one budget: the user is locked on both', async () => {
    const name = `guess-${suffix}`;
    await set.cli('users', 'create', name, '--password', 'the-right-password-123');
    // The username's budget is 10 failures in 15 minutes; each replica alone sees 5.
    for (let i = 0; i < 10; i += 1) {
      const r = await call(replica(i % 2), 'POST', '/v1/login', { body: { username: name, password: `wrong-${i}` } });
      assert.equal(r.status, 401, r.text);
    }
    for (const i of [0, 1]) {
      const r = await call(replica(i), 'POST', '/v1/login', { body: { username: name, password: 'the-right-password-123' } });
      assert.equal(r.status, 429, r.text);
      assert.match(message(r), /too many failed logins for this user/);
    }
  });

  it('an expired login is refused at its callback with its own message, and its CLI poll answers 410', async () => {
    const flow = await cliFlowUpToCallback(0);
    // Ten minutes pass, as far as the database is concerned.
    await sql('UPDATE login_flows SET expires_at = 0');
    const late = await call(replica(1), 'GET', flow.callbackPath);
    assert.equal(late.status, 400, late.text);
    assert.match(message(late), /has expired \(a login must finish within 10 minutes of its start\)/);
    const polled = await call(replica(1), 'POST', '/v1/auth/cli-token', { body: { requestId: flow.requestId, verifier: flow.verifier } });
    assert.equal(polled.status, 410, polled.text);
    // Expired rows are deleted by the next login that starts.
    await cliFlowUpToCallback(1);
    const left = (await sql('SELECT count(*) AS n FROM login_flows WHERE expires_at = 0')).rows as Array<{ n: string }>;
    assert.equal(Number(left[0]?.n), 0);
  });
});
