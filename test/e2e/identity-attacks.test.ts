/**
 * Attacks on a real `drover server` process: password guessing and lockout,
 * forged, expired and malformed credentials, hostile bodies. Each gets a clear
 * `{code, message}` answer, the server keeps serving, and no password or token
 * secret ever appears in its log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, spawnServer, type HttpAnswer, type ServerProcess } from './identity-support.ts';

const adminPassword = 'attack-suite-admin-password';
const malloryPassword = 'mallory-long-password-1';
const secrets = new Set<string>([adminPassword, malloryPassword]);

let dir: string;
let server: ServerProcess;
let adminToken: string;

function remember(answer: HttpAnswer): HttpAnswer {
  try {
    const token = (answer.json() as { token?: string }).token;
    if (token) secrets.add(token.split(':')[1] ?? token);
  } catch { /* not JSON */ }
  return answer;
}

function assertError(answer: HttpAnswer, status: number, code: string): void {
  assert.equal(answer.status, status, answer.text);
  const body = answer.json() as { code: string; message: string };
  assert.equal(body.code, code, answer.text);
  assert.ok(body.message.length > 5, 'the message says what failed');
}

async function login(username: string, password: string): Promise<HttpAnswer> {
  return remember(await call(server, 'POST', '/v1/login', { body: { username, password } }));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drover-attacks-'));
  server = await spawnServer({ dataDir: join(dir, 'data'), env: { DROVER_BOOTSTRAP_PASSWORD: adminPassword } });
  const answer = await login('admin', adminPassword);
  adminToken = (answer.json() as { token: string }).token;
  const created = await call(server, 'POST', '/v1/users', { token: adminToken, body: { username: 'mallory', password: malloryPassword } });
  assert.equal(created.status, 201, created.text);
});

after(async () => {
  await server.kill9();
  rmSync(dir, { recursive: true, force: true });
});

describe('attacks on the identity API', () => {
  it('answers malformed Authorization headers of every shape with 401 and a JSON error', async () => {
    const token = adminToken;
    const [id] = token.split(':');
    const shapes = [
      '', 'Bearer', 'Bearer ', 'Bearer  ', 'bearer token-', `Bearer ${id}`, `Bearer ${id}:`, `Bearer :${token.split(':')[1]}`,
      `Bearer ${token}x`, `Bearer ${token} ${token}`, `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}`,
      'Basic !!!!', `Token ${token}`, `Digest ${token}`, 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.', 'Bearer null',
      'Bearer undefined', `Bearer ${'a'.repeat(8000)}`, 'Bearer token-aaaaa:' + 'b'.repeat(43), `Bearer ${id?.toUpperCase()}:${token.split(':')[1]}`,
      'Bearer token-aaaaa:' + 'b'.repeat(43) + '\t', `Bearer ${encodeURIComponent(token)}`,
    ];
    for (const header of shapes) {
      const answer = await call(server, 'GET', '/v1/whoami', { headers: { authorization: header } });
      assertError(answer, 401, 'DRV_ERR_UNAUTHENTICATED');
      assert.match(String(answer.headers['www-authenticate']), /^Bearer/);
    }
    assertError(await call(server, 'GET', '/v1/whoami'), 401, 'DRV_ERR_UNAUTHENTICATED');
  });

  it('refuses a valid token id with a wrong secret', async () => {
    const [id, secret] = adminToken.split(':');
    const flipped = `${secret?.slice(0, -1)}${secret?.endsWith('A') ? 'B' : 'A'}`;
    assertError(await call(server, 'GET', '/v1/whoami', { token: `${id}:${flipped}` }), 401, 'DRV_ERR_UNAUTHENTICATED');
    assert.equal((await call(server, 'GET', '/v1/whoami', { token: adminToken })).status, 200);
  });

  it('refuses an expired token with DRV_ERR_TOKEN_EXPIRED', async () => {
    const issued = remember(await call(server, 'POST', '/v1/tokens', { token: adminToken, body: { ttlSeconds: 1, description: 'short' } }));
    assert.equal(issued.status, 201, issued.text);
    const short = (issued.json() as { token: string }).token;
    assert.equal((await call(server, 'GET', '/v1/whoami', { token: short })).status, 200);
    await new Promise((r) => setTimeout(r, 1500));
    assertError(await call(server, 'GET', '/v1/whoami', { token: short }), 401, 'DRV_ERR_TOKEN_EXPIRED');
  });

  it('answers hostile bodies with 400 or 413, never a crash', async () => {
    const cases: Array<[string, { body?: unknown; headers?: Record<string, string> }, number, string]> = [
      ['malformed JSON', { body: '{"username":' }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['an empty body', { body: '', headers: { 'content-type': 'application/json' } }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['a JSON array', { body: '[]' }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['a JSON string', { body: '"admin"' }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['an unknown field', { body: { username: 'admin', password: 'x', admin: true } }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['a __proto__ key', { body: '{"username":"admin","password":"x","__proto__":{"globalRole":"admin"}}' }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['a wrong type', { body: { username: 42, password: 'x' } }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['a missing field', { body: { username: 'admin' } }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['deep nesting', { body: `{"username":${'['.repeat(5000)}${']'.repeat(5000)},"password":"x"}` }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['a 1 MiB body', { body: JSON.stringify({ username: 'admin', password: 'x'.repeat(1 << 20) }) }, 413, 'DRV_ERR_PAYLOAD_TOO_LARGE'],
      ['text/plain', { body: 'username=admin', headers: { 'content-type': 'text/plain' } }, 400, 'DRV_ERR_BAD_REQUEST'],
      ['a 300-character password', { body: { username: 'admin', password: 'p'.repeat(300) } }, 400, 'DRV_ERR_BAD_REQUEST'],
    ];
    for (const [name, request, status, code] of cases) {
      const answer = await call(server, 'POST', '/v1/login', request);
      assert.equal(answer.status, status, `${name}: ${answer.text}`);
      assertError(answer, status, code);
    }
    assertError(await call(server, 'POST', '/v1/users', { token: adminToken, body: { username: 'eve', password: 'e'.repeat(20), role: 'admin' } }), 400, 'DRV_ERR_BAD_REQUEST');
    assertError(await call(server, 'POST', '/v1/users', { token: adminToken, body: { username: 'eve', password: 'short' } }), 422, 'DRV_ERR_UNPROCESSABLE');
    assertError(await call(server, 'GET', '/v1/nothing-here'), 404, 'DRV_ERR_NOT_FOUND');
    assert.equal((await call(server, 'GET', '/healthz')).status, 200);
  });

  it('keeps a non-admin inside their own objects', async () => {
    const token = (await login('mallory', malloryPassword).then((a) => a.json())) as { token: string };
    assertError(await call(server, 'GET', '/v1/users', { token: token.token }), 403, 'DRV_ERR_FORBIDDEN');
    assertError(await call(server, 'POST', '/v1/users', { token: token.token, body: { username: 'eve2', password: 'e'.repeat(20), globalRole: 'admin' } }), 403, 'DRV_ERR_FORBIDDEN');
    assertError(await call(server, 'GET', '/v1/tokens?all=true', { token: token.token }), 403, 'DRV_ERR_FORBIDDEN');
    assertError(await call(server, 'GET', '/v1/users/admin', { token: token.token }), 404, 'DRV_ERR_NOT_FOUND');
    assertError(await call(server, 'DELETE', `/v1/tokens/${adminToken.split(':')[0]}`, { token: token.token }), 404, 'DRV_ERR_NOT_FOUND');
    assert.equal((await call(server, 'GET', '/v1/whoami', { token: adminToken })).status, 200, 'the admin token survived');
    assertError(await call(server, 'DELETE', '/v1/users/admin', { token: adminToken }), 409, 'DRV_ERR_CONFLICT');
  });

  it('scopes a token only to a cluster the caller may use, whatever clusterId the API is sent', async () => {
    const registered = await call(server, 'POST', '/v1/clusters', { token: adminToken, body: { name: 'scoped-target' } });
    assert.equal(registered.status, 201, registered.text);
    const cluster = (registered.json() as { cluster: { id: string } }).cluster;
    const mallory = (await login('mallory', malloryPassword)).json() as { token: string };
    // Not a member: the same answer as for a cluster that does not exist, so ids cannot be probed.
    for (const clusterId of [cluster.id, 'scoped-target', 'c-doesnotexist', 'x'.repeat(64)]) {
      const refused = await call(server, 'POST', '/v1/tokens', { token: mallory.token, body: { kind: 'kubeconfig', clusterId } });
      assertError(refused, 422, 'DRV_ERR_UNPROCESSABLE');
      assert.equal((refused.json() as { message: string }).message,
        `clusterId: no cluster "${clusterId}" that you can use; see "drover clusters list"`);
    }
    // Once a member, the token is scoped by id, even when the cluster was named.
    const added = await call(server, 'POST', `/v1/clusters/${cluster.id}/members`, { token: adminToken, body: { user: 'mallory', role: 'cluster-member' } });
    assert.equal(added.status, 201, added.text);
    for (const clusterId of [cluster.id, 'scoped-target']) {
      const issued = await call(server, 'POST', '/v1/tokens', { token: mallory.token, body: { kind: 'kubeconfig', clusterId } });
      assert.equal(issued.status, 201, issued.text);
      const tokenId = (issued.json() as { tokenId: string }).tokenId;
      const listed = (await call(server, 'GET', '/v1/tokens', { token: mallory.token })).json() as Array<{ id: string; clusterId?: string }>;
      assert.equal(listed.find((t) => t.id === tokenId)?.clusterId, cluster.id);
    }
    // An admin may use every cluster, but still only clusters that exist.
    assertError(await call(server, 'POST', '/v1/tokens', { token: adminToken, body: { clusterId: 'c-doesnotexist' } }), 422, 'DRV_ERR_UNPROCESSABLE');
    assert.equal((await call(server, 'POST', '/v1/tokens', { token: adminToken, body: { clusterId: cluster.id } })).status, 201);
  });

  it('slows and then locks out password guessing; the right password fails until the window ends', async () => {
    const started = Date.now();
    for (let i = 0; i < 10; i++) assertError(await login('mallory', `guess-number-${i}-wrong`), 401, 'DRV_ERR_UNAUTHENTICATED');
    assert.ok(Date.now() - started >= 5000, 'failures after the third are slowed down');
    const locked = await login('mallory', malloryPassword);
    assertError(locked, 429, 'DRV_ERR_TOO_MANY_REQUESTS');
    assert.ok(Number(locked.headers['retry-after']) > 0);
    assert.match((locked.json() as { message: string }).message, /try again in \d+ s/);
    // Another user from the same address is not locked out.
    assert.equal((await login('admin', adminPassword)).status, 200);
  });

  it('publishes login outcomes and request metrics, and an OpenAPI 3 document', async () => {
    const metrics = await call(server, 'GET', '/metrics');
    assert.match(metrics.text, /drover_logins_total\{result="failure",reason="bad-credentials"\} \d+/);
    assert.match(metrics.text, /drover_logins_total\{result="success",reason=""\} \d+/);
    assert.match(metrics.text, /drover_http_requests_total\{method="POST",route="\/v1\/login",status="401"\}/);
    const doc = (await call(server, 'GET', '/v1/openapi.json')).json() as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    for (const path of ['/v1/login', '/v1/users', '/v1/tokens', '/v1/whoami', '/cacerts']) assert.ok(path in doc.paths, path);
    assert.equal((await call(server, 'GET', '/readyz')).status, 200);
    assert.equal((await call(server, 'GET', '/cacerts')).text, server.caPem());
  });

  it('still serves after all of it, and no password or token secret appears in any log line', async () => {
    assert.equal((await call(server, 'GET', '/healthz')).status, 200);
    assert.equal(server.child().exitCode, null);
    const lines = server.output().split('\n').filter((l) => l.trim() !== '');
    for (const line of lines) {
      if (line.startsWith('(node:') || line.startsWith('(Use `node')) continue;
      assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
      for (const secret of secrets) assert.ok(!line.includes(secret), `a secret appeared in: ${line.slice(0, 200)}`);
      assert.ok(!/guess-number-\d-wrong/.test(line), 'a guessed password appeared in a log line');
    }
  });
});
