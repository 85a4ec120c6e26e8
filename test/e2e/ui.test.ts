/**
 * The web UI in a real Chromium against a real `drover server`, a real private
 * control plane and a real agent: log in, watch the cluster go Active, add a
 * member, download a kubeconfig and use it with kubectl, create and revoke a
 * token, a first-login password change, a same-site page on another port that
 * tries to use the session cookie (fetch and WebSocket), keyboard-only login,
 * and no console errors. Screenshots of
 * the main pages (1280 px and phone width) go to test/artifacts/ui/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { kubectl, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { adminPassword, eventually, startDrover, type Drover, type Registration } from '../testenv/drover.ts';
import { ensureUiBuilt, launchBrowser, type TestBrowser } from '../testenv/browser.ts';
import { call } from './identity-support.ts';
import { artifacts, assertAccessible, assertNoOverflow, login, phone, shoot } from './ui-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const clusterName = `ui-${suffix}`;
const alice = { username: `alice-${suffix}`, first: 'first-password-123', second: 'second-password-456' };

describe('web UI in a real browser', { timeout: 240_000 }, () => {
  let cp: PrivateControlPlane;
  let drover: Drover;
  let browser: TestBrowser;
  let clusterId: string;

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    ensureUiBuilt();
    [cp, drover] = await Promise.all([startPrivateControlPlane(), startDrover()]);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await drover?.stop();
    await cp?.stop();
  });

  it('serves the UI with the strict CSP and security headers', async () => {
    const res = await call(drover.server, 'GET', '/clusters');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'; script-src 'self'; style-src 'self'/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
  });

  it('logs in, and shows a newly registered cluster going from Pending to Active', async () => {
    const { page } = browser;
    await page.goto(`${drover.server.url}/`);
    await page.getByRole('heading', { name: 'Log in to Drover' }).waitFor();
    await shoot(page, 'login-1280');
    await login(page, drover.server.url, 'admin', 'wrong password');
    await page.getByRole('alert').getByText(/invalid username or password/).waitFor();
    await login(page, drover.server.url, 'admin', adminPassword);
    await page.getByRole('heading', { name: 'Clusters', exact: true }).waitFor();

    const created = JSON.parse(await drover.cli('clusters', 'create', clusterName, '-o', 'json')) as { cluster: { id: string }; registration: Registration };
    clusterId = created.cluster.id;
    const row = page.locator(`tr[data-cluster="${clusterName}"]`);
    await row.getByText('Pending').waitFor({ timeout: 15_000 });
    drover.startAgent(created.registration, cp.state.kubeconfigPath);
    await row.getByText('Active').waitFor({ timeout: 60_000 });
    await shoot(page, 'clusters-1280');
    await assertAccessible(page, 'clusters-1280');
  });

  it('creates a user, adds them as a cluster member, and shows the cluster page', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'Users' }).click();
    const form = page.getByRole('form', { name: 'Create a local user' });
    await form.getByLabel('Username').fill(alice.username);
    await form.getByLabel('Initial password').fill(alice.first);
    await form.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('region', { name: 'Users' }).getByRole('cell', { name: new RegExp(`^${alice.username} `) }).waitFor();
    await shoot(page, 'users-1280');

    await page.getByRole('link', { name: 'Clusters' }).click();
    await page.getByRole('link', { name: clusterName }).click();
    await page.getByRole('heading', { name: new RegExp(clusterName) }).waitFor();
    const add = page.getByRole('form', { name: 'Add a member' });
    await add.getByLabel('User or group').fill(alice.username);
    await add.getByLabel('Role').selectOption('cluster-member');
    await add.getByRole('button', { name: 'Add member' }).click();
    await page.getByRole('region', { name: 'Members' }).getByRole('cell', { name: alice.username, exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Nodes' }).waitFor();
    await page.getByText('Loading…').first().waitFor({ state: 'detached' });
    await shoot(page, 'cluster-1280');
    await assertAccessible(page, 'cluster-1280');
    const members = JSON.parse(await drover.cli('members', 'list', '--cluster', clusterName, '-o', 'json')) as Array<{ subject: string; roleTemplate: string; username?: string }>;
    assert.ok(members.some((m) => m.username === alice.username && m.roleTemplate === 'cluster-member'), JSON.stringify(members));
  });

  it('downloads a kubeconfig that works with kubectl through the proxy', async () => {
    const { page } = browser;
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download KubeConfig' }).click()]);
    assert.equal(download.suggestedFilename(), `${clusterName}.yaml`);
    const path = join(browser.downloadsDir, `${clusterName}.yaml`);
    await download.saveAs(path);
    assert.match(readFileSync(path, 'utf8'), new RegExp(`/k8s/clusters/${clusterId}`));
    // Admins hold no RBAC downstream unless bound; the apiserver still says who the proxy made us.
    const admin = ((await call(drover.server, 'POST', '/v1/login', { body: { username: 'admin', password: adminPassword } })).json() as { user: { id: string } }).user;
    const whoami = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig: path });
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.equal(whoami.stdout.trim(), admin.id);

    await page.getByRole('button', { name: 'Copy KubeConfig to clipboard' }).click();
    await page.getByText('Copied').waitFor();
    const copied = await page.evaluate<string>('navigator.clipboard.readText()');
    assert.match(copied, new RegExp(`server: ${drover.server.url}/k8s/clusters/${clusterId}`));
  });

  it('creates a namespace in a project, and downloads one kubeconfig for all clusters that kubectl uses', async () => {
    const { page } = browser;
    const ns = `ui-ns-${suffix}`;
    const form = page.getByRole('form', { name: 'Create a namespace in a project' });
    await form.getByLabel('New namespace').fill(ns);
    await form.getByLabel('In project').selectOption({ label: 'Default' });
    await form.getByRole('button', { name: 'Create namespace' }).click();
    await page.getByRole('region', { name: 'Projects' }).getByText(new RegExp(ns)).waitFor({ timeout: 15_000 });
    const projectId = await kubectl(['get', 'namespace', ns, '-o', 'jsonpath={.metadata.annotations.field\\.cattle\\.io/projectId}'], { kubeconfig: cp.state.kubeconfigPath });
    assert.match(projectId.stdout, new RegExp(`^${clusterId}:p-`));

    await page.getByRole('link', { name: 'Clusters', exact: true }).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download KubeConfig for all clusters' }).click()]);
    assert.equal(download.suggestedFilename(), 'drover-all.yaml');
    const path = join(browser.downloadsDir, 'drover-all.yaml');
    await download.saveAs(path);
    const text = readFileSync(path, 'utf8');
    assert.match(text, new RegExp(`current-context: ${clusterName}`));
    const whoami = await kubectl(['--context', clusterName, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig: path });
    assert.equal(whoami.code, 0, whoami.stderr);
  });

  it('creates an API token shown once, and revokes it', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'API tokens' }).click();
    const form = page.getByRole('form', { name: 'Create an API token' });
    await form.getByLabel('Description').fill(`ui token ${suffix}`);
    await form.getByLabel('Expires after').selectOption('3600');
    await form.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.getByLabel('new token').textContent()) ?? '';
    assert.match(secret, /^token-[a-z0-9]+:[A-Za-z0-9]{43}$/);
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token: secret })).status, 200);
    await shoot(page, 'tokens-1280');
    await assertAccessible(page, 'tokens-1280');
    await page.getByRole('button', { name: `Revoke ui token ${suffix}` }).click();
    await page.getByRole('button', { name: `Revoke ui token ${suffix}` }).waitFor({ state: 'detached' });
    assert.equal((await call(drover.server, 'GET', '/v1/whoami', { token: secret })).status, 401);
  });

  it('refuses the session cookie when a same-site page on another port sends it (fetch and WebSocket)', async () => {
    const { page } = browser;
    // Same host, other port: same-site, so SameSite=Strict still sends the cookie; Origin and CSRF must stop it.
    const attacker = createServer({ cert: readFileSync(join(drover.server.dataDir, 'server.crt')), key: readFileSync(join(drover.server.dataDir, 'server.key')) },
      (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>elsewhere</title>'); });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const seenProblems = browser.problems.length;
    const logFrom = drover.server.output().length;
    try {
      await page.goto(`https://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      const wsUrl = `${drover.server.url.replace('https:', 'wss:')}/k8s/clusters/${clusterId}/api/v1/namespaces/default/pods/x/exec?command=sh&stdin=true`;
      const outcome = await page.evaluate<string>(`(async () => {
        await fetch('${drover.server.url}/v1/logout', { method: 'POST', mode: 'no-cors', credentials: 'include' });
        return await new Promise((resolve) => {
          const ws = new WebSocket('${wsUrl}');
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
        });
      })()`);
      assert.equal(outcome, 'refused');
      // The cookie did arrive (a request without it would be a 401): both were refused for their Origin.
      // The browser may see the refusal before the server has written its log line, so wait for both.
      const refusals = [/"code":"DRV_ERR_FORBIDDEN","status":403,"msg":"request refused"/, /"status":403,"code":"DRV_ERR_FORBIDDEN","msg":"proxy request refused"/];
      await eventually('both refusals in the server log', () => {
        const log = drover.server.output().slice(logFrom);
        return refusals.every((r) => r.test(log)) ? true : undefined;
      }, 10_000);
    } finally {
      // The refused WebSocket is logged by Chromium as an error on the other origin's page, as it should be.
      browser.problems.splice(seenProblems);
      attacker.close();
    }
    // The forged logout did not end the session.
    await page.goto(`${drover.server.url}/tokens`);
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
  });

  it('shows roles, providers and settings pages', async () => {
    const { page } = browser;
    for (const [link, heading, shot] of [['Roles', 'Role templates', 'roles'], ['Auth providers', 'Auth providers', 'providers'], ['Settings', 'Settings', 'settings']] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.getByText('Loading…').first().waitFor({ state: 'detached' });
      await shoot(page, `${shot}-1280`);
      await assertAccessible(page, shot);
    }
    // Lifetimes are typed as durations, as on the command line.
    await page.getByRole('button', { name: 'Change' }).first().click();
    const form = page.getByRole('form', { name: 'Kubeconfig token settings' });
    await form.getByLabel('Default lifetime').fill('12h');
    await form.getByLabel('Maximum lifetime').fill('30d');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved. The next kubeconfig uses these settings.').waitFor();
    const saved = JSON.parse(await drover.cli('settings', 'get', 'kubeconfig', '-o', 'json')) as { defaultTtlSeconds: number; maxTtlSeconds: number };
    assert.deepEqual([saved.defaultTtlSeconds, saved.maxTtlSeconds], [12 * 3600, 30 * 86400]);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to Drover' }).waitFor();
  });

  it('makes a new user choose a password, then shows them their cluster at phone width', async () => {
    const mobile = await launchBrowser({ viewport: phone });
    // A member whose roles do not cover every namespace: the cluster page's warnings answer 403, and it says so.
    mobile.expectHttpError(403, /\/warnings$/);
    try {
      const { page } = mobile;
      // Keyboard only: the form's fields and button are reachable with Tab, Enter submits.
      await page.goto(`${drover.server.url}/`);
      await page.getByRole('heading', { name: 'Log in to Drover' }).waitFor();
      await page.getByLabel('Username').focus();
      await page.keyboard.type(alice.username);
      await page.keyboard.press('Tab');
      await page.keyboard.type(alice.first);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      await shoot(page, 'password-phone');
      await assertAccessible(page, 'password-phone');
      await page.getByLabel('Current password').fill(alice.first);
      await page.getByLabel('New password', { exact: true }).fill(alice.second);
      await page.getByLabel('New password again').fill(alice.second);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('link', { name: clusterName }).waitFor();
      await shoot(page, 'clusters-phone');
      await assertAccessible(page, 'clusters-phone');
      await page.getByRole('button', { name: 'Menu' }).click();
      await shoot(page, 'menu-phone');
      await page.getByRole('link', { name: 'Clusters' }).click();
      await page.getByRole('link', { name: clusterName }).click();
      await page.getByRole('heading', { name: 'Kubeconfig' }).waitFor();
      await page.getByText('Loading…').first().waitFor({ state: 'detached' });
      assert.equal(await page.getByRole('form', { name: 'Add a member' }).count(), 0, 'a cluster member is not offered member changes');
      await shoot(page, 'cluster-phone');
      await assertNoOverflow(page, 'the cluster page');
      await assertAccessible(page, 'cluster-phone');
      // A reload keeps the session (GET /v1/session hands the page its CSRF token again).
      await page.reload();
      await page.getByRole('heading', { name: 'Kubeconfig' }).waitFor();
      // Alice's own kubeconfig works once her binding has reached the cluster's RBAC.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download KubeConfig' }).click()]);
      const path = join(mobile.downloadsDir, 'alice.yaml');
      await download.saveAs(path);
      const result = await eventually('alice\'s kubectl through the downloaded kubeconfig', async () => {
        const r = await kubectl(['get', 'namespace', 'default', '-o', 'name'], { kubeconfig: path });
        return r.code === 0 ? r : undefined;
      }, 30_000);
      assert.equal(result.stdout.trim(), 'namespace/default');
      assert.deepEqual(mobile.problems, []);
    } finally {
      await mobile.close();
    }
  });

  it('logged no console errors or page errors', () => {
    assert.deepEqual(browser.problems, []);
  });
});
