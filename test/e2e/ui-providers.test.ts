/**
 * The login page's identity providers in a real Chromium: one real `drover
 * server`, a real slapd, the real oidc-provider issuer and the GitHub stand-in,
 * each configured, tested and enabled by the admin through the CLI. The page
 * offers exactly the enabled providers; an LDAP user logs in through the form;
 * OIDC and GitHub users click their button, finish the provider's own pages in
 * the same browser and land back in the UI logged in; a wrong LDAP password is
 * shown in words; a disabled provider's button goes away; no console errors.
 * Screenshots go to test/artifacts/ui/. No control plane: the point is login.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { adminPassword, startDrover, type Drover } from '../testenv/drover.ts';
import { ensureUiBuilt, launchBrowser, type TestBrowser } from '../testenv/browser.ts';
import { adGroupsDn, adUsersDn, groupsDn, peopleDn, serviceDn, servicePassword, startSlapd, userDn, type Slapd } from '../testenv/slapd.ts';
import { signInAs, startOidcIssuer, type OidcIssuer } from '../testenv/oidc-issuer.ts';
import { startGitHubStandin, type GitHubStandin } from '../testenv/github-standin.ts';
import { runCliForTest } from '../../src/testing/index.ts';
import { call } from './identity-support.ts';
import { cliBrowserLogin } from './browser-login-support.ts';

const artifacts = join(import.meta.dirname, '..', 'artifacts', 'ui');
const suffix = Math.random().toString(36).slice(2, 7);
const olivia = { sub: `olivia-${suffix}`, preferredUsername: `olivia-${suffix}`, name: 'Olivia', groups: [`sso-${suffix}`] };
const mona = { id: 20_000 + Math.floor(Math.random() * 1_000_000), login: `mona-${suffix}`, name: 'Mona', orgs: [], teams: [] };

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** The names the login page offers: the password providers in the select, the redirect providers as buttons. */
async function offered(page: Page): Promise<{ form: string[]; buttons: string[] }> {
  await page.getByRole('heading', { name: 'Log in to Drover' }).waitFor();
  await page.getByRole('combobox', { name: 'Sign in with' }).waitFor();
  const form = await page.getByRole('combobox', { name: 'Sign in with' }).locator('option').allTextContents();
  const buttons = await page.getByRole('link', { name: /^Log in with / }).allTextContents();
  return { form, buttons };
}

describe('web UI logins through identity providers in a real browser', { timeout: 120_000 }, () => {
  let drover: Drover;
  let slapd: Slapd;
  let issuer: OidcIssuer;
  let gh: GitHubStandin;
  let browser: TestBrowser;
  const settingsFile = (name: string, config: Record<string, unknown>, access: Record<string, unknown> = {}): string =>
    drover.yamlFile(name, { config, ...access });
  const oidcConfig = (): Record<string, unknown> => ({
    issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret, caPem: issuer.caPem, scopes: ['openid', 'profile', 'groups'],
  });
  /** The browser is back in the UI on Drover's origin, logged in as `username`; then it logs out. */
  const landsLoggedIn = async (page: Page, username: string, shot: string): Promise<void> => {
    await page.getByRole('heading', { name: 'Clusters', exact: true }).waitFor();
    assert.equal(new URL(page.url()).origin, drover.server.url);
    assert.equal(await page.locator('.who').textContent(), username);
    await shoot(page, shot);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to Drover' }).waitFor();
  };
  const ldapForm = async (page: Page, username: string, password: string): Promise<void> => {
    await page.getByRole('combobox', { name: 'Sign in with' }).selectOption({ label: 'OpenLDAP' });
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
  };

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    ensureUiBuilt();
    [drover, slapd, gh] = await Promise.all([startDrover(), startSlapd(), startGitHubStandin()]);
    gh.setUser(mona);
    issuer = await startOidcIssuer({ redirectUris: [`${drover.server.url}/v1/auth/oidc/callback`], accounts: [olivia] });
    browser = await launchBrowser();
    browser.page.setDefaultTimeout(15_000);
    // The issuer's dev pages @import a web font; the machine has no internet and nothing may phone home.
    await browser.context.route('https://fonts.googleapis.com/**', (route) => route.fulfill({ status: 200, contentType: 'text/css', body: '' }));

    await drover.cli('providers', 'configure', 'openldap', '-f', settingsFile('openldap', {
      url: slapd.url, startTls: true, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword, userBaseDn: peopleDn, groupBaseDn: groupsDn,
    }));
    const ldapTest = await runCliForTest(['providers', 'test', 'openldap', '--username', 'carol', '--password-stdin'], { configPath: drover.configPath, stdin: 'carol-password' });
    assert.equal(ldapTest.code, 0, ldapTest.stderr);
    await drover.cli('providers', 'configure', 'oidc', '-f', settingsFile('oidc', oidcConfig()));
    await drover.cli('providers', 'configure', 'github', '-f', settingsFile('github', {
      hostname: gh.hostname, clientId: gh.clientId, clientSecret: gh.clientSecret, caPem: gh.caPem,
    }));
    const [oidcTest, githubTest] = await Promise.all([
      cliBrowserLogin(drover.server, { provider: 'oidc', argv: ['providers', 'test', 'oidc'], configPath: drover.configPath, cas: [issuer.caPem], fields: signInAs(olivia.sub) }),
      cliBrowserLogin(drover.server, { provider: 'github', argv: ['providers', 'test', 'github'], configPath: drover.configPath, cas: [gh.caPem], fields: () => ({ login: mona.login }) }),
    ]);
    assert.equal(oidcTest.code, 0, oidcTest.stderr);
    assert.equal(githubTest.code, 0, githubTest.stderr);
    for (const name of ['openldap', 'oidc', 'github']) await drover.cli('providers', 'enable', name);
    // Configured but never tested nor enabled: the login page must not offer it.
    await drover.cli('providers', 'configure', 'activedirectory', '-f', settingsFile('activedirectory', {
      url: slapd.ldapsUrl, caPem: slapd.caPem, bindDn: serviceDn, bindPassword: servicePassword, userBaseDn: adUsersDn, groupBaseDn: adGroupsDn,
    }));
  });

  after(async () => {
    await browser?.close();
    await drover?.stop();
    await Promise.all([slapd?.stop(), issuer?.stop(), gh?.stop()]);
  });

  it('offers the LDAP form option and the GitHub and OIDC buttons for exactly the enabled providers', async () => {
    const { page } = browser;
    const listed = JSON.parse(await drover.cli('providers', 'list', '-o', 'json')) as Array<{ name: string; configured: boolean; enabled: boolean }>;
    assert.deepEqual(listed.filter((p) => p.configured && !p.enabled).map((p) => p.name), ['activedirectory']);
    await page.goto(`${drover.server.url}/`);
    assert.deepEqual(await offered(page), { form: ['Local', 'OpenLDAP'], buttons: ['Log in with GitHub', 'Log in with OpenID Connect'] });
    await shoot(page, 'login-providers-1280');
    await page.setViewportSize({ width: 390, height: 844 });
    await shoot(page, 'login-providers-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('shows a wrong LDAP password as an error in words, and keeps the user on the login page', async () => {
    const { page } = browser;
    await ldapForm(page, 'bob', 'not-bobs-password');
    await page.getByRole('alert').getByText(/invalid username or password/).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Log in to Drover' }).count(), 1);
  });

  it('logs an LDAP user in through the form: their name and the clusters page', async () => {
    const { page } = browser;
    await ldapForm(page, 'bob', 'bob-password');
    await page.getByRole('heading', { name: 'Clusters', exact: true }).waitFor();
    // The session the page holds is the directory user's (provider and DN principal), not only a name on screen.
    const me = await page.evaluate<{ username: string; provider?: string; principalIds: string[] }>(`fetch('/v1/session').then((r) => r.json()).then((s) => s.user)`);
    assert.ok(me.principalIds.includes(`openldap_user://${userDn('bob')}`), JSON.stringify(me));
    await landsLoggedIn(page, 'bob', 'login-ldap-result-1280');
  });

  it('brings a user who cancels at the issuer back to the login page with the reason in words', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Log in with OpenID Connect' }).click();
    await page.waitForURL((url) => url.href.startsWith(issuer.issuer));
    await page.getByRole('link', { name: '[ Cancel ]' }).click();
    await page.getByRole('alert').getByText(/Login failed: the provider did not confirm who you are/).waitFor();
    assert.equal(page.url(), `${drover.server.url}/`, 'the message is shown once, not kept in the URL');
    await shoot(page, 'login-oidc-cancelled-1280');
    await page.reload();
    await page.getByRole('heading', { name: 'Log in to Drover' }).waitFor();
    await page.getByRole('link', { name: 'Log in with OpenID Connect' }).waitFor();
    assert.equal(await page.getByRole('alert').count(), 0, 'a reload does not repeat an old error');
  });

  it('logs an OIDC user in: the button, the issuer\'s own login page in the same browser, and back into the UI', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Log in with OpenID Connect' }).click();
    await page.waitForURL((url) => url.href.startsWith(issuer.issuer));
    await page.locator('input[name="login"]').fill(olivia.sub);
    await page.locator('input[name="password"]').fill('any');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    // oidc-provider's consent page, then the redirect back to Drover's callback and the UI.
    await page.getByRole('button', { name: 'Continue' }).click();
    await landsLoggedIn(page, olivia.preferredUsername, 'login-oidc-result-1280');
  });

  it('shows a user the restricted access mode refuses why, on the login page, with no session', async () => {
    const { page } = browser;
    // Only the access mode changes: it applies at once, without a new test login.
    await drover.cli('providers', 'configure', 'oidc', '-f', settingsFile('oidc', oidcConfig(), { accessMode: 'restricted', allowedPrincipals: [`oidc_group://nobody-${suffix}`] }));
    // Olivia is still signed in at the issuer: it sends her straight back, and Drover refuses her.
    await page.getByRole('link', { name: 'Log in with OpenID Connect' }).click();
    await page.getByRole('alert').getByText(/Login failed: your account may not log in through this provider/).waitFor();
    assert.equal((await page.evaluate<number>(`fetch('/v1/session').then((r) => r.status)`)), 401);
    await shoot(page, 'login-oidc-refused-1280');
    await drover.cli('providers', 'configure', 'oidc', '-f', settingsFile('oidc', oidcConfig(), { accessMode: 'unrestricted', allowedPrincipals: [] }));
  });

  it('logs a GitHub user in through the stand-in\'s authorize page in the same browser', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Log in with GitHub' }).click();
    await page.waitForURL((url) => url.href.startsWith(gh.url));
    await page.locator('input[name="login"]').fill(mona.login);
    await page.getByRole('button', { name: 'Authorize' }).click();
    await landsLoggedIn(page, mona.login, 'login-github-result-1280');
  });

  it('drops a provider\'s button from the login page once the admin disabled it', async () => {
    const { page } = browser;
    await drover.cli('providers', 'disable', 'github');
    await page.reload();
    assert.deepEqual(await offered(page), { form: ['Local', 'OpenLDAP'], buttons: ['Log in with OpenID Connect'] });
    const open = await call(drover.server, 'GET', '/v1/auth/providers');
    assert.deepEqual((open.json() as Array<{ name: string }>).map((p) => p.name), ['local', 'oidc', 'openldap']);
  });

  it('shows an admin the provider groups users are in, and lets them make a directory user an admin and back', async () => {
    const { page } = browser;
    await page.getByRole('combobox', { name: 'Sign in with' }).selectOption({ label: 'Local' });
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(adminPassword);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Users' }).click();
    // bob is in platform directly and in engineering through it (nested), as his LDAP login found.
    const groups = page.getByRole('region', { name: 'Groups' });
    for (const cn of ['platform', 'engineering']) {
      await groups.getByRole('row', { name: new RegExp(`openldap_group://cn=${cn},.*\\bbob\\b`) }).waitFor();
    }
    await groups.getByRole('row', { name: new RegExp(`oidc_group://sso-${suffix}.*${olivia.preferredUsername}`) }).waitFor();
    await shoot(page, 'users-groups-1280');

    const bob = async (): Promise<{ globalRole: string }> => {
      const users = JSON.parse(await drover.cli('users', 'list', '-o', 'json')) as Array<{ username: string; globalRole: string }>;
      return users.find((u) => u.username === 'bob') ?? assert.fail('bob is listed');
    };
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Make bob an admin' }).click();
    await page.getByRole('button', { name: 'Remove admin role from bob' }).waitFor();
    assert.equal((await bob()).globalRole, 'admin');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Remove admin role from bob' }).click();
    await page.getByRole('button', { name: 'Make bob an admin' }).waitFor();
    assert.equal((await bob()).globalRole, 'user');
  });

  it('logged no console errors or page errors', () => {
    assert.deepEqual(browser.problems, []);
  });
});
