/**
 * The browser session and the transport, tried as an attacker would with raw HTTP
 * against a real `drover server`, a real agent and kube-apiserver:
 *
 * - every HTTPS answer carries Strict-Transport-Security: REST, UI, /cacerts,
 *   /healthz, proxied answers, proxy refusals, refused upgrades and Node's own 400;
 * - the session cookie is `__Host-drover_session` (Secure, Path=/, no Domain), so a
 *   sibling host cannot plant one: a planted `drover_session` neither logs the
 *   victim's browser into the attacker's account (login CSRF through GET
 *   /v1/session) nor breaks the victim's own session;
 * - GET /v1/session hands its CSRF token only to our own page's fetch.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { call } from './identity-support.ts';

const hsts = /^strict-transport-security: max-age=31536000$/im;

describe('session cookie, login CSRF and HSTS (raw HTTP)', () => {
  let drover: Drover;
  let cp: PrivateControlPlane;
  let cluster: RegisteredCluster;
  let origin: string;

  /** Sends `lines` as one raw HTTP/1.1 request over TLS and returns everything the server answered until it closed. */
  const raw = (lines: string[], body = ''): Promise<string> => new Promise((resolve, reject) => {
    const url = new URL(drover.server.url);
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: drover.server.caPem(), servername: 'localhost' }, () => {
      socket.write([...lines, `host: ${url.host}`, 'connection: close', ...(body ? [`content-length: ${Buffer.byteLength(body)}`, 'content-type: application/json'] : []), '', body].join('\r\n'));
    });
    let text = '';
    socket.on('data', (c: Buffer) => { text += c.toString(); });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  const status = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
  const bodyOf = (answer: string): string => answer.slice(answer.indexOf('\r\n\r\n') + 4);
  const login = async (username: string, password: string): Promise<{ cookie: string; csrf: string; setCookie: string; token: string }> => {
    const answer = await raw(['POST /v1/session HTTP/1.1', `origin: ${origin}`, 'sec-fetch-site: same-origin'], JSON.stringify({ username, password }));
    assert.equal(status(answer), 200, answer);
    const setCookie = /^set-cookie: (.*)$/im.exec(answer)?.[1] ?? '';
    // Whatever name the server set, so each attack below is tried against the session as it is.
    const [, name, token] = /^((?:__Host-)?drover_session)=([^;]+)/.exec(setCookie) ?? ['', '__Host-drover_session', ''];
    return { cookie: `${name}=${token}`, token: token ?? '', setCookie, csrf: (JSON.parse(bodyOf(answer)) as { csrfToken: string }).csrfToken };
  };
  const usernameIn = (answer: string): string | undefined => {
    try {
      const body = JSON.parse(bodyOf(answer)) as { username?: string; user?: { username: string } };
      return body.user?.username ?? body.username;
    } catch {
      return undefined;
    }
  };

  before(async () => {
    cp = await startPrivateControlPlane();
    drover = await startDrover();
    origin = new URL(drover.server.url).origin;
    cluster = await drover.registerCluster('transport', cp.state);
    await drover.cli('users', 'create', 'mallory', '--password', 'mallory-long-password');
    await drover.cli('users', 'create', 'victor', '--password', 'victor-long-password');
  });
  after(async () => {
    await drover?.stop();
    await cp?.stop();
  });

  it('every answer carries Strict-Transport-Security: REST, UI, /cacerts, /healthz, proxied, proxy refusals, refused upgrades', async () => {
    const admin = drover.tokenOf('admin');
    const answers: Record<string, string> = {
      healthz: await raw(['GET /healthz HTTP/1.1']),
      cacerts: await raw(['GET /cacerts HTTP/1.1']),
      ui: await raw(['GET / HTTP/1.1']),
      'REST 401': await raw(['GET /v1/whoami HTTP/1.1']),
      'REST 200': await raw(['GET /v1/whoami HTTP/1.1', `authorization: Bearer ${admin}`]),
      'proxied 200': await raw([`GET /k8s/clusters/${cluster.id}/version HTTP/1.1`, `authorization: Bearer ${admin}`]),
      'proxy refusal': await raw([`GET /k8s/clusters/${cluster.id}/version HTTP/1.1`]),
      'proxy 404': await raw(['GET /k8s/clusters/c-nosuch/version HTTP/1.1', `authorization: Bearer ${admin}`]),
    };
    const upgrade = ['connection: Upgrade', 'upgrade: websocket', 'sec-websocket-version: 13', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ=='];
    answers['refused proxy upgrade'] = await raw([`GET /k8s/clusters/${cluster.id}/api/v1/namespaces/default/pods/p/exec?command=sh HTTP/1.1`, ...upgrade]);
    answers['upgrade nobody handles'] = await raw(['GET /nowhere HTTP/1.1', ...upgrade]);
    answers['refused agent upgrade'] = await raw(['GET /v3/connect HTTP/1.1', ...upgrade, 'authorization: Bearer not-a-registration-token']);
    answers['unparseable request'] = await raw(['GET /healthz HTTP/1.1', 'bad header line without a colon']);
    assert.equal(status(answers['unparseable request']), 400, answers['unparseable request']);
    assert.equal(status(answers['proxied 200']!), 200, answers['proxied 200']);
    assert.equal(status(answers['refused proxy upgrade']), 401, answers['refused proxy upgrade']);
    for (const [what, answer] of Object.entries(answers)) {
      assert.match(answer.slice(0, answer.indexOf('\r\n\r\n')), hsts, `${what} has no HSTS header:\n${answer.slice(0, 400)}`);
    }
  });

  it('the session cookie is __Host-drover_session: Secure, Path=/, HttpOnly, SameSite=Strict, no Domain', async () => {
    const { setCookie } = await login('victor', 'victor-long-password');
    assert.match(setCookie, /^__Host-drover_session=token-[a-z0-9]+:[A-Za-z0-9]{43}; /);
    for (const attribute of ['Secure', 'Path=/', 'HttpOnly', 'SameSite=Strict']) assert.ok(setCookie.split('; ').includes(attribute), `${attribute} in ${setCookie}`);
    assert.doesNotMatch(setCookie, /domain=/i);
  });

  it('a drover_session cookie planted by a sibling host logs nobody in and breaks nothing', async () => {
    const mallory = await login('mallory', 'mallory-long-password');
    const planted = `drover_session=${mallory.token}`;
    // Login CSRF: the victim's browser, carrying only the planted cookie, is not in mallory's account.
    const adopted = await raw(['GET /v1/session HTTP/1.1', `cookie: ${planted}`, 'sec-fetch-site: same-origin']);
    assert.equal(status(adopted), 401, adopted);
    assert.equal(usernameIn(adopted), undefined);
    // The victim's own session keeps working beside it, in either order.
    const victor = await login('victor', 'victor-long-password');
    for (const cookie of [`${planted}; ${victor.cookie}`, `${victor.cookie}; ${planted}`]) {
      const session = await raw(['GET /v1/session HTTP/1.1', `cookie: ${cookie}`, 'sec-fetch-site: same-origin']);
      assert.equal(status(session), 200, session);
      assert.equal(usernameIn(session), 'victor');
      const me = await raw(['GET /v1/whoami HTTP/1.1', `cookie: ${cookie}`, `x-drover-csrf: ${victor.csrf}`, `origin: ${origin}`]);
      assert.equal(usernameIn(me), 'victor', me);
    }
    // A planted cookie beside a Bearer token is no longer a 400 (a denial of service on kubectl in a browser-shared jar).
    const bearer = await raw(['GET /v1/whoami HTTP/1.1', `cookie: ${planted}`, `authorization: Bearer ${drover.tokenOf('admin')}`]);
    assert.equal(usernameIn(bearer), 'admin', bearer);
    const proxied = await raw([`GET /k8s/clusters/${cluster.id}/version HTTP/1.1`, `cookie: ${planted}`, `authorization: Bearer ${drover.tokenOf('admin')}`]);
    assert.equal(status(proxied), 200, proxied);
  });

  it('two __Host-drover_session cookies are a 400 that says to clear the cookies, in one header or two', async () => {
    const a = await login('victor', 'victor-long-password');
    const b = await login('mallory', 'mallory-long-password');
    for (const headers of [[`cookie: ${a.cookie}; ${b.cookie}`], [`cookie: ${a.cookie}`, `cookie: ${b.cookie}`]]) {
      for (const path of ['/v1/session', '/v1/whoami', `/k8s/clusters/${cluster.id}/version`]) {
        const answer = await raw([`GET ${path} HTTP/1.1`, ...headers, `x-drover-csrf: ${a.csrf}`, 'sec-fetch-site: same-origin']);
        assert.equal(status(answer), 400, `${path}: ${answer}`);
        assert.match(answer, /clear this site's cookies in the browser and log in again/);
      }
    }
  });

  it('GET /v1/session gives the CSRF token only to our own page\'s fetch', async () => {
    const victor = await login('victor', 'victor-long-password');
    const refused: Array<[string, string[]]> = [
      ['cross-site fetch', ['sec-fetch-site: cross-site']], ['sibling host', ['sec-fetch-site: same-site']],
      ['top-level navigation', ['sec-fetch-site: none']], ['foreign Origin', [`origin: https://evil.example`]],
      ['our host over http', [`origin: ${origin.replace('https:', 'http:')}`]],
    ];
    for (const [what, headers] of refused) {
      const answer = await raw(['GET /v1/session HTTP/1.1', `cookie: ${victor.cookie}`, ...headers]);
      assert.equal(status(answer), 403, `${what}: ${answer}`);
      assert.doesNotMatch(answer, new RegExp(victor.csrf), what);
    }
    const own = await raw(['GET /v1/session HTTP/1.1', `cookie: ${victor.cookie}`, 'sec-fetch-site: same-origin', `origin: ${origin}`]);
    assert.equal(status(own), 200, own);
    assert.equal((JSON.parse(bodyOf(own)) as { csrfToken: string }).csrfToken, victor.csrf);
    // A cross-site POST /v1/session (login CSRF into mallory's account) stays refused.
    const forced = await call(drover.server, 'POST', '/v1/session', { headers: { origin: 'https://evil.example' }, body: { username: 'mallory', password: 'mallory-long-password' } });
    assert.equal(forced.status, 403);
    assert.equal(forced.headers['set-cookie'], undefined);
  });
});
