/**
 * A real browser for the web UI tests: Debian's Chromium (/usr/bin/chromium)
 * driven by playwright-core, headless, with a fresh user-data dir and the flags
 * of issue #9 (the machine has no internet, so nothing may phone home). The
 * page trusts the test server's own CA only through Playwright's
 * ignoreHTTPSErrors, in this context alone. Console errors, page errors and
 * every 4xx/5xx answer are collected so a test can assert there were none; a test
 * that provokes an error answer on purpose says so with `expectHttpError`. The only
 * one expected everywhere: GET /v1/session answering 401 before anyone logged in.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';
export const chromiumFlags = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

const root = join(import.meta.dirname, '..', '..');
export const uiDist = join(root, 'dist', 'ui');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Builds dist/ui when it is missing or older than ui/ (tests run from sources on a fresh clone). */
export function ensureUiBuilt(): void {
  const index = join(uiDist, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(root, 'ui'))) return;
  execFileSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(root, 'ui', 'vite.config.ts')], {
    cwd: root, stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and 4xx/5xx answers seen so far (less those expected with `expectHttpError`). */
  problems: string[];
  /** Declares that answers with `status` to a request whose path matches `path` are part of the test. */
  expectHttpError: (status: number, path: RegExp) => void;
  downloadsDir: string;
  close: () => Promise<void>;
}

export async function launchBrowser(options: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'drover-chromium-'));
  const downloadsDir = mkdtempSync(join(tmpdir(), 'drover-downloads-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumFlags,
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
    permissions: ['clipboard-read', 'clipboard-write'],
    downloadsPath: downloadsDir,
    viewport: options.viewport ?? { width: 1280, height: 900 },
  });
  const problems: string[] = [];
  const expected: Array<{ status: number; path: RegExp }> = [{ status: 401, path: /^\/v1\/session$/ }];
  const watch = (page: Page): void => {
    page.on('console', (message) => {
      // The browser logs every non-2xx fetch as a console error; the response handler below judges those.
      if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of/.test(message.text())) {
        problems.push(`console: ${message.text()}`);
      }
    });
    page.on('response', (response) => {
      const status = response.status();
      if (status < 400) return;
      const url = new URL(response.url());
      if (expected.some((e) => e.status === status && e.path.test(url.pathname))) return;
      problems.push(`http: ${status} ${response.request().method()} ${url.pathname}${url.search}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  };
  for (const open of context.pages()) watch(open);
  context.on('page', watch);
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context, page, problems, downloadsDir,
    expectHttpError: (status, path) => { expected.push({ status, path }); },
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
      rmSync(downloadsDir, { recursive: true, force: true });
    },
  };
}
