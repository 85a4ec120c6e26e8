/** Shared steps of the web UI suites: logging in through the form, full-page screenshots into test/artifacts/ui/, the accessibility and phone-width checks. */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../testenv/browser.ts';
import type { Drover } from '../testenv/drover.ts';

export const artifacts = join(import.meta.dirname, '..', 'artifacts', 'ui');
export const phone = { width: 390, height: 844 };

export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

export async function login(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation { id: string; impact?: string; help: string; nodes: Array<{ target: unknown[] }> }

/**
 * Runs axe-core on the page as it is now and fails on any serious or critical
 * violation. The source is evaluated through the DevTools protocol rather than
 * added as a <script> tag, which the UI's CSP (`script-src 'self'`) rightly refuses.
 */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate<AxeViolation[]>('axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations)');
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact ?? '?'}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)).join(', ')}`);
  assert.deepEqual(serious, [], `accessibility of ${what}`);
}

/** Fails when the page is wider than the viewport (something forces horizontal scrolling). */
export async function assertNoOverflow(page: Page, what: string): Promise<void> {
  const widths = await page.evaluate<{ scroll: number; client: number }>('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })');
  assert.ok(widths.scroll <= widths.client, `${what} overflows at ${widths.client}px: ${widths.scroll}px wide`);
}

/**
 * Runs `steps` in a browser of its own (a phone's viewport, or a second user), 20 s per
 * step, then fails on any unexpected 4xx/5xx or console error it saw; closes it either way.
 */
export async function inOwnBrowser(steps: (page: Page) => Promise<void>, options: { viewport?: { width: number; height: number } } = {}): Promise<void> {
  const browser = await launchBrowser(options);
  try {
    browser.page.setDefaultTimeout(20_000);
    await steps(browser.page);
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
  }
}

/**
 * Makes `username` a cluster owner of `cluster` who is no Drover admin, then runs `steps`
 * in a browser of its own, logged in as them and on the Clusters page (what a non-admin
 * may see of admin-only views).
 */
export async function asClusterOwner(drover: Drover, cluster: string, username: string, steps: (page: Page) => Promise<void>): Promise<void> {
  const password = 'bob-password-12345';
  await drover.cli('users', 'create', username, '--password', password);
  await drover.cli('members', 'add', '--cluster', cluster, '--user', username, '--role', 'cluster-owner');
  await inOwnBrowser(async (page) => {
    await login(page, drover.server.url, username, password);
    await page.getByRole('heading', { name: 'Clusters', exact: true }).waitFor();
    await steps(page);
  });
}
