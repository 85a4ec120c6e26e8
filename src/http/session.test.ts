import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { silentLogger } from '../logging/index.ts';
import { serverConfigFromFlags, startServer, type RunningServer } from '../server/index.ts';
import { UiSessions, credentialFrom } from './session.ts';

const publicUrl = 'https://drover.test:8443';
const password = 'session-test-password';

describe('UI session cookie and CSRF rules (real server)', () => {
  let dir: string;
  let server: RunningServer;
  let agent: Agent;
  let base: string;

  const send = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
    const res = await request(`${base}${path}`, {
      method: method as 'GET', dispatcher: agent,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };

  const login = async () => {
    const res = await send('POST', '/v1/session', {}, { username: 'admin', password });
    assert.equal(res.status, 200, res.text);
    const setCookie = String(res.headers['set-cookie']);
    const cookie = /__Host-drover_session=([^;]+)/.exec(setCookie)?.[1] ?? '';
    return { cookie: `__Host-drover_session=${cookie}`, token: cookie, csrf: String(res.json().csrfToken), setCookie, body: res.json() };
  };

  const rawUpgrade = (path: string, headers: string[]): Promise<string> => new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, ca: server.core.tls.caPem, servername: 'localhost' }, () => {
      socket.write([`GET ${path} HTTP/1.1`, 'host: drover.test:8443', 'connection: Upgrade', 'upgrade: websocket',
        'sec-websocket-version: 13', 'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==', ...headers, '', ''].join('\r\n'));
    });
    let text = '';
    socket.on('data', (c: Buffer) => { text += c.toString(); });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drover-session-'));
    const config = serverConfigFromFlags({ dataDir: dir, listen: '127.0.0.1:0', publicUrl }, { DROVER_BOOTSTRAP_PASSWORD: password });
    server = await startServer(config, { logger: silentLogger(), announce: () => undefined });
    base = `https://127.0.0.1:${server.port}`;
    agent = new Agent({ connect: { ca: server.core.tls.caPem, servername: 'localhost' } });
  });

  after(async () => {
    await agent.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets an HttpOnly, Secure, SameSite=Strict cookie with a Max-Age and never returns the token in the body', async () => {
    const s = await login();
    assert.match(s.setCookie, /^__Host-drover_session=token-[a-z0-9]+:[A-Za-z0-9]{43}; /);
    for (const attr of ['Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']) assert.ok(s.setCookie.includes(attr), attr);
    const maxAge = Number(/Max-Age=(\d+)/.exec(s.setCookie)?.[1]);
    assert.ok(maxAge > 60, `Max-Age ${maxAge}`);
    assert.ok(!JSON.stringify(s.body).includes(s.token), 'the token is not in the JSON body');
    assert.equal((s.body.user as { username: string }).username, 'admin');
  });

  it('refuses a login started by a page on another origin (login CSRF)', async () => {
    const attempts: Array<Record<string, string>> = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }];
    for (const headers of attempts) {
      const res = await send('POST', '/v1/session', headers, { username: 'admin', password });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.equal(res.headers['set-cookie'], undefined);
    }
    assert.equal((await send('POST', '/v1/session', { origin: publicUrl, 'sec-fetch-site': 'same-origin' }, { username: 'admin', password })).status, 200);
  });

  it('says which origin it wants and how to fix a mismatch', async () => {
    const res = await send('POST', '/v1/session', { origin: 'https://127.0.0.1:8443' }, { username: 'admin', password });
    assert.equal(res.status, 403);
    const message = String(res.json().message);
    assert.match(message, /Origin mismatch: this page is https:\/\/127\.0\.0\.1:8443/);
    assert.ok(message.includes(`only from ${new URL(publicUrl).origin}`), message);
    assert.match(message, /--public-url/);
  });

  it('accepts the cookie with its CSRF token and our own Origin', async () => {
    const s = await login();
    const res = await send('GET', '/v1/whoami', { cookie: s.cookie, 'x-drover-csrf': s.csrf, origin: publicUrl, 'sec-fetch-site': 'same-origin' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().username, 'admin');
  });

  it('refuses the cookie with a missing, forged or other-session CSRF token', async () => {
    const s = await login();
    const other = await login();
    assert.notEqual(s.csrf, other.csrf);
    for (const csrf of [undefined, '', 'forged', s.csrf.slice(0, -1), other.csrf, `${s.csrf}x`]) {
      const res = await send('GET', '/v1/whoami', { cookie: s.cookie, ...(csrf === undefined ? {} : { 'x-drover-csrf': csrf }) });
      assert.equal(res.status, 401, `csrf ${String(csrf)}: ${res.text}`);
    }
  });

  it('refuses the cookie from another origin or a cross-site fetch even with the right CSRF token', async () => {
    const s = await login();
    const attempts: Array<Record<string, string>> = [
      { origin: 'https://evil.example' }, { origin: 'https://drover.test:8444' }, { origin: 'http://drover.test:8443' }, { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of attempts) {
      const res = await send('POST', '/v1/tokens', { cookie: s.cookie, 'x-drover-csrf': s.csrf, ...headers }, { description: 'csrf attack' });
      assert.equal(res.status, 403, `${JSON.stringify(headers)}: ${res.text}`);
    }
  });

  it('refuses a request carrying both the cookie and a Bearer token, whichever is valid', async () => {
    const s = await login();
    const bearer = (await send('POST', '/v1/login', {}, { username: 'admin', password })).json().token as string;
    const res = await send('GET', '/v1/whoami', { cookie: s.cookie, 'x-drover-csrf': s.csrf, authorization: `Bearer ${bearer}` });
    assert.equal(res.status, 400);
    assert.equal(res.json().code, 'DRV_ERR_BAD_REQUEST');
    assert.equal((await send('GET', '/v1/whoami', { authorization: `Bearer ${bearer}` })).status, 200, 'Bearer alone keeps working');
  });

  it('refuses two session cookies', async () => {
    const s = await login();
    const other = await login();
    const res = await send('GET', '/v1/whoami', { cookie: `${s.cookie}; ${other.cookie}`, 'x-drover-csrf': s.csrf });
    assert.equal(res.status, 400);
  });

  it('GET /v1/session gives a reloaded page its CSRF token, but not to another origin', async () => {
    const s = await login();
    const res = await send('GET', '/v1/session', { cookie: s.cookie });
    assert.equal(res.status, 200);
    assert.equal(res.json().csrfToken, s.csrf);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal((await send('GET', '/v1/session', { cookie: s.cookie, origin: 'https://evil.example' })).status, 403);
    assert.equal((await send('GET', '/v1/session')).status, 401);
  });

  it('DELETE /v1/session revokes the token and clears the cookie', async () => {
    const s = await login();
    const res = await send('DELETE', '/v1/session', { cookie: s.cookie, 'x-drover-csrf': s.csrf });
    assert.equal(res.status, 204);
    assert.match(String(res.headers['set-cookie']), /drover_session=; .*Max-Age=0/);
    assert.equal((await send('GET', '/v1/whoami', { cookie: s.cookie, 'x-drover-csrf': s.csrf })).status, 401);
  });

  it('the proxy refuses cookie-only requests without CSRF or from another origin, and cookie + Bearer', async () => {
    const s = await login();
    const path = '/k8s/clusters/c-nosuch/api';
    assert.equal((await send('GET', path, { cookie: s.cookie })).status, 401);
    assert.equal((await send('GET', path, { cookie: s.cookie, 'x-drover-csrf': other(s.csrf) })).status, 401);
    assert.equal((await send('GET', path, { cookie: s.cookie, 'x-drover-csrf': s.csrf, origin: 'https://evil.example' })).status, 403);
    assert.equal((await send('GET', path, { cookie: s.cookie, 'x-drover-csrf': s.csrf, authorization: 'Bearer token-abc:x' })).status, 400);
    // Past authentication: an admin's request for an unknown cluster is a 404, so the cookie was accepted.
    assert.equal((await send('GET', path, { cookie: s.cookie, 'x-drover-csrf': s.csrf, origin: publicUrl })).status, 404);
  });

  it('the proxy refuses a cookie WebSocket upgrade with a foreign Origin or none, and accepts our own Origin', async () => {
    const s = await login();
    const path = '/k8s/clusters/c-nosuch/api/v1/namespaces/default/pods/p/exec?command=sh';
    const cookie = [`cookie: ${s.cookie}`, `x-drover-csrf: ${s.csrf}`];
    assert.match(await rawUpgrade(path, [...cookie, 'origin: https://evil.example']), /^HTTP\/1\.1 403/);
    assert.match(await rawUpgrade(path, cookie), /^HTTP\/1\.1 403/);
    assert.match(await rawUpgrade(path, [`cookie: ${s.cookie}`, `origin: ${publicUrl}`]), /^HTTP\/1\.1 401/);
    assert.match(await rawUpgrade(path, [...cookie, `origin: ${publicUrl}`]), /^HTTP\/1\.1 404/);
  });

  it('a browser WebSocket may carry the CSRF token as a subprotocol: only the right one, only one, only with our Origin', async () => {
    const s = await login();
    const path = '/k8s/clusters/c-nosuch/api/v1/namespaces/default/pods/p/exec?command=sh';
    const offer = (...protocols: string[]): string => `sec-websocket-protocol: ${['v5.channel.k8s.io', ...protocols].join(', ')}`;
    const ours = [`cookie: ${s.cookie}`, `origin: ${publicUrl}`];
    // 404 (unknown cluster, admin) means the cookie was accepted.
    assert.match(await rawUpgrade(path, [...ours, offer(`csrf.drover.io.${s.csrf}`)]), /^HTTP\/1\.1 404/);
    assert.match(await rawUpgrade(path, [...ours, offer(`csrf.drover.io.${other(s.csrf)}`)]), /^HTTP\/1\.1 401/);
    assert.match(await rawUpgrade(path, [...ours, offer(`csrf.drover.io.${s.csrf}`, `csrf.drover.io.${other(s.csrf)}`)]), /^HTTP\/1\.1 401/);
    assert.match(await rawUpgrade(path, [...ours, offer('csrf.drover.io.')]), /^HTTP\/1\.1 401/);
    assert.match(await rawUpgrade(path, [`cookie: ${s.cookie}`, 'origin: https://evil.example', offer(`csrf.drover.io.${s.csrf}`)]), /^HTTP\/1\.1 403/);
    // Not an upgrade: the subprotocol is no CSRF token there.
    assert.equal((await send('GET', '/k8s/clusters/c-nosuch/api', { cookie: s.cookie, origin: publicUrl, 'sec-websocket-protocol': `csrf.drover.io.${s.csrf}` })).status, 401);
  });

  it('limits a session that must change its password to whoami, the change and logout, then opens it in place', async () => {
    const admin = (await send('POST', '/v1/login', {}, { username: 'admin', password })).json().token as string;
    const created = await send('POST', '/v1/users', { authorization: `Bearer ${admin}` }, { username: 'newbie', password: 'initial-password-1', mustChangePassword: true });
    assert.equal(created.status, 201, created.text);
    const res = await send('POST', '/v1/session', {}, { username: 'newbie', password: 'initial-password-1' });
    const cookie = `__Host-drover_session=${/__Host-drover_session=([^;]+)/.exec(String(res.headers['set-cookie']))?.[1] ?? ''}`;
    const limited = { cookie, 'x-drover-csrf': String(res.json().csrfToken) };
    const me = await send('GET', '/v1/whoami', limited);
    assert.equal(me.status, 200, me.text);
    assert.equal((me.json().token as { passwordChangeOnly?: boolean }).passwordChangeOnly, true);
    const mint = await send('POST', '/v1/tokens', limited, { description: 'sneaky' });
    assert.equal(mint.status, 403);
    assert.equal(mint.json().code, 'DRV_ERR_PASSWORD_CHANGE_REQUIRED');
    assert.equal((await send('GET', '/k8s/clusters/c-nosuch/api', limited)).status, 403);
    const changed = await send('POST', '/v1/users/me/password', limited, { currentPassword: 'initial-password-1', newPassword: 'chosen-password-22' });
    assert.equal(changed.status, 204, changed.text);
    const again = await send('GET', '/v1/session', { cookie });
    assert.equal((again.json().user as { mustChangePassword: boolean }).mustChangePassword, false);
    assert.equal(again.json().csrfToken, limited['x-drover-csrf'], 'one CSRF token per session: the token itself carries the restriction');
    assert.equal((await send('GET', '/v1/tokens', limited)).status, 200, 'the same session opens everything after the change');
    assert.equal((await send('DELETE', '/v1/session', limited)).status, 204);
  });

  it('changes your own password with the current one and clears must-change-password', async () => {
    const s = await login();
    const auth = { cookie: s.cookie, 'x-drover-csrf': s.csrf };
    const wrong = await send('POST', '/v1/users/me/password', auth, { currentPassword: 'nope', newPassword: 'another-long-password' });
    assert.equal(wrong.status, 403);
    const ok = await send('POST', '/v1/users/me/password', auth, { currentPassword: password, newPassword: 'another-long-password' });
    assert.equal(ok.status, 204, ok.text);
    assert.equal((await send('POST', '/v1/session', {}, { username: 'admin', password: 'another-long-password' })).status, 200);
    const back = await send('POST', '/v1/users/me/password', auth, { currentPassword: 'another-long-password', newPassword: password });
    assert.equal(back.status, 204);
  });
});

function other(csrf: string): string {
  return csrf.startsWith('A') ? `B${csrf.slice(1)}` : `A${csrf.slice(1)}`;
}

describe('credentialFrom (no server)', () => {
  const sessions = new UiSessions({ key: UiSessions.randomKey(), publicUrl });
  const token = `token-abc123:${'a'.repeat(43)}`;

  it('passes the Authorization header through when there is no session cookie', () => {
    assert.equal(credentialFrom({ authorization: 'Bearer x' }, sessions), 'Bearer x');
    assert.equal(credentialFrom({ cookie: 'R_SESS=y' }, sessions), undefined);
  });

  it('refuses the cookie when no session settings are bound (fails closed)', () => {
    assert.throws(() => credentialFrom({ cookie: `__Host-drover_session=${token}`, 'x-drover-csrf': sessions.csrfFor(token) }, undefined), /not accepted/);
  });

  it('binds the CSRF token to the token id under the server key', () => {
    const otherServer = new UiSessions({ key: UiSessions.randomKey(), publicUrl });
    assert.notEqual(sessions.csrfFor(token), otherServer.csrfFor(token));
    assert.equal(credentialFrom({ cookie: `__Host-drover_session=${token}`, 'x-drover-csrf': sessions.csrfFor(token) }, sessions), `Bearer ${token}`);
    assert.throws(() => credentialFrom({ cookie: `__Host-drover_session=${token}`, 'x-drover-csrf': otherServer.csrfFor(token) }, sessions));
    assert.throws(() => credentialFrom({ cookie: '__Host-drover_session=garbage', 'x-drover-csrf': 'x' }, sessions), /malformed/);
  });
});
