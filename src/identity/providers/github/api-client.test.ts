import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DroverError } from '../../../errors/index.ts';
import { providerHttp } from '../redirect-fetch.ts';
import { GitHubApi, GitHubTokenRejected } from './api-client.ts';

describe('GitHub REST client', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ url: string; authorization: string | undefined }> = [];
  const http = providerHttp({});

  before(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? 1);
      if (req.url?.startsWith('/api/v3/loop')) {
        res.writeHead(200, { 'content-type': 'application/json', link: `<${base}/loop?page=${page + 1}>; rel="next"` });
        res.end(JSON.stringify([page]));
      } else if (req.url?.startsWith('/api/v3/escape')) {
        res.writeHead(200, { 'content-type': 'application/json', link: '<http://192.0.2.1/steal?page=2>; rel="next"' });
        res.end('[1]');
      } else if (req.url?.startsWith('/api/v3/revoked')) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"message":"Bad credentials"}');
      } else if (req.url?.startsWith('/api/v3/broken')) {
        res.writeHead(500);
        res.end('oops');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"not":"a list"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3`;
  });
  after(async () => {
    await http.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('stops following next links after maxPages', async () => {
    const api = new GitHubApi(base, http.fetch);
    const items = await api.list<number>('/loop', 't');
    assert.equal(items.length, 50);
  });

  it('never follows a next link to another host with the token', async () => {
    const api = new GitHubApi(base, http.fetch);
    await assert.rejects(api.list('/escape', 'secret-token'), /another host/);
    assert.ok(seen.every((s) => !s.url.includes('steal')));
  });

  it('a 401 is the token being rejected; a 5xx or a non-list is the provider being unavailable', async () => {
    const api = new GitHubApi(base, http.fetch);
    await assert.rejects(api.get('/revoked', 't'), GitHubTokenRejected);
    for (const path of ['/broken', '/not-a-list']) {
      await assert.rejects(path === '/broken' ? api.get(path, 't') : api.list(path, 't'), (e: unknown) => e instanceof DroverError && e.code === 'DRV_ERR_PROVIDER_UNAVAILABLE');
    }
  });

  it('sends the token as a Bearer header, and no header at all without one', async () => {
    const api = new GitHubApi(base, http.fetch);
    seen.length = 0;
    await api.get('/anything', 'gho_abc');
    await api.get('/anything', undefined);
    assert.deepEqual(seen.map((s) => s.authorization), ['Bearer gho_abc', undefined]);
  });
});
