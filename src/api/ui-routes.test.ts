import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { installErrorHandling } from '../http/index.ts';
import { uiContentSecurityPolicy, uiRoutes } from './ui-routes.ts';

describe('UI static routes', () => {
  const parent = mkdtempSync(join(tmpdir(), 'drover-ui-'));
  const dir = join(parent, 'ui');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Drover</title>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(parent, 'secret.txt'), 'outside-the-ui');
  const app = Fastify();
  installErrorHandling(app);
  void app.register(uiRoutes({ dir }));
  after(async () => {
    await app.close();
    rmSync(parent, { recursive: true, force: true });
  });

  it('serves index.html for client-side routes, never cached, with the strict CSP', async () => {
    for (const url of ['/', '/clusters/c-abc', '/tokens']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /<title>Drover/);
      assert.equal(res.headers['content-security-policy'], uiContentSecurityPolicy);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
      assert.equal(res.headers['cache-control'], 'no-cache');
    }
    assert.match(uiContentSecurityPolicy, /script-src 'self';/);
    assert.match(uiContentSecurityPolicy, /frame-ancestors 'none'/);
  });

  it('serves hashed assets with a long immutable cache and their type', async () => {
    const res = await app.inject({ url: '/assets/index-abc123.js' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/javascript/);
    assert.match(String(res.headers['cache-control']), /max-age=31536000, immutable/);
    assert.equal((await app.inject({ url: '/assets/missing.js' })).statusCode, 404);
  });

  it('keeps API paths 404 JSON and refuses paths that climb out of the UI folder', async () => {
    const api = await app.inject({ url: '/v1/nosuch' });
    assert.equal(api.statusCode, 404);
    assert.equal(api.json<{ code: string }>().code, 'DRV_ERR_NOT_FOUND');
    for (const url of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const res = await app.inject({ url });
      assert.ok(!res.body.includes('outside-the-ui'), `${url} leaked a file outside the UI folder`);
    }
  });
});
