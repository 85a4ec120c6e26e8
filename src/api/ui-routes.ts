/**
 * Serves the built web UI (dist/ui) at `/`: hashed files under /assets/ with a
 * year-long immutable cache, and index.html (never cached) for every other page
 * path so client-side routes survive a reload. Every answer carries a strict CSP
 * (no inline script or style, no framing, connections only to this origin).
 * Refuses: paths outside the UI folder, and API-looking paths (/v1/, /k8s/, …),
 * which stay 404 JSON.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DroverError } from '../errors/index.ts';

// src/api/ or dist/api/ → <package root>/dist/ui (fileURLToPath: import.meta.dirname needs Node 20.11).
export const defaultUiDir = fileURLToPath(new URL('../../dist/ui', import.meta.url));

export const uiContentSecurityPolicy = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
].join('; ');

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2', '.map': 'application/json',
};
const apiPrefixes = ['/v1/', '/v3/', '/k8s/', '/healthz', '/readyz', '/metrics', '/cacerts'];
const safePath = /^\/[A-Za-z0-9._\-/]*$/;

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', uiContentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin');
}

async function readOrUndefined(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}

export function uiRoutes(options: { dir?: string } = {}): FastifyPluginAsyncTypebox {
  const dir = resolve(options.dir ?? defaultUiDir);
  return (app) => {
    const serve = async (url: string, reply: FastifyReply): Promise<FastifyReply> => {
      const path = url.split('?')[0] ?? '/';
      if (apiPrefixes.some((p) => path.startsWith(p)) || !safePath.test(path) || path.includes('..')) {
        throw new DroverError('DRV_ERR_NOT_FOUND', `no route GET ${path.slice(0, 128)}`);
      }
      const file = resolve(join(dir, path));
      const inside = file.startsWith(dir + sep);
      if (inside && extname(file) !== '' && extname(file) !== '.html') {
        const body = await readOrUndefined(file);
        if (body) {
          const immutable = path.startsWith('/assets/');
          return secure(reply).type(types[extname(file)] ?? 'application/octet-stream')
            .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache').send(body);
        }
        if (path.startsWith('/assets/')) throw new DroverError('DRV_ERR_NOT_FOUND', `no UI asset ${path.slice(0, 128)}`);
      }
      const index = await readOrUndefined(join(dir, 'index.html'));
      if (!index) throw new DroverError('DRV_ERR_NOT_FOUND', 'the web UI is not built: run "npm run build"');
      return secure(reply).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index);
    };
    app.get('/', { schema: { hide: true } }, (request, reply) => serve(request.url, reply));
    app.get('/*', { schema: { hide: true } }, (request, reply) => serve(request.url, reply));
    return Promise.resolve();
  };
}
