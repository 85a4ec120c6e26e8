/**
 * Builds the web UI into dist/ui. JSX goes through Vite's own Oxc transform with
 * Preact's automatic runtime, so no framework plugin is needed. Output is plain
 * hashed files under /assets/ and an index.html with no inline script or style,
 * which the server's CSP (`script-src 'self'; style-src 'self'`) requires.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: resolve(import.meta.dirname, '..', 'dist', 'ui'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline module-preload polyfill: every script is a file under 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
  },
});
