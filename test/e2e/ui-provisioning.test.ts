/**
 * Provisioned clusters in the web UI, in a real Chromium against a real `drover
 * server` with Kubernetes binaries and real node agents: an admin creates a
 * custom cluster in the UI (the version from those the server offers), copies
 * the node command it shows (the CLI's, word for word; the role checkboxes change
 * it), and a node agent started with exactly that command builds the cluster
 * while the cluster page shows each step reach done and the cluster go Active.
 * Then an etcd snapshot taken in the UI is listed, the cluster is restored to it
 * after the confirmation, the schedule (RKE2's default at first) is changed, and
 * a node whose step fails shows the step, the node and the reason. The new pages
 * go through axe-core at 1280 px and 390 px (no horizontal overflow on a phone);
 * any unexpected 4xx/5xx or console error fails the file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { adminPassword, startDrover, type Drover } from '../testenv/drover.ts';
import { provisioningBinaries, provisioningVersions } from '../testenv/binaries.ts';
import { startNodeAgent, type NodeAgentProcess } from '../testenv/node-agents.ts';
import { ensureUiBuilt, launchBrowser, type TestBrowser } from '../testenv/browser.ts';
import { artifacts, asClusterOwner, assertAccessible, assertNoOverflow, inOwnBrowser, login, phone, shoot } from './ui-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const name = `uiprov-${suffix}`;

/** The node command the page shows now. */
const shownCommand = async (page: Page): Promise<string> => (await page.getByLabel('node command', { exact: true }).textContent() ?? '').trim();

describe('provisioned clusters in the web UI', { timeout: 480_000 }, () => {
  let drover: Drover;
  let browser: TestBrowser;
  let versions: { current: string; previous: string };
  let clusterId = '';
  const nodes: NodeAgentProcess[] = [];
  const dirs = mkdtempSync(join(tmpdir(), 'drover-ui-nodes-'));

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    ensureUiBuilt();
    const binaries = await provisioningBinaries(() => undefined);
    versions = await provisioningVersions(() => undefined);
    drover = await startDrover({ serverArgs: ['--kubernetes-binaries', binaries] });
    browser = await launchBrowser();
    browser.page.setDefaultTimeout(20_000);
  });
  after(async () => {
    for (const node of nodes) {
      await node.stop('SIGTERM');
      node.killProcesses();
    }
    await browser?.close();
    await drover?.stop();
    rmSync(dirs, { recursive: true, force: true });
  });

  it('creates a custom cluster with a version the server offers, and shows the CLI\'s node command, changed by the role checkboxes', async () => {
    const { page } = browser;
    await login(page, drover.server.url, 'admin', adminPassword);
    const form = page.getByRole('form', { name: 'Create a custom cluster' });
    await form.waitFor();
    assert.deepEqual((await form.getByLabel('Kubernetes version').locator('option').allTextContents()).sort(), [versions.current, versions.previous].sort(), 'the versions the server has binaries for');
    await form.getByLabel('Kubernetes version').selectOption(versions.current);
    await form.getByLabel('Name').fill(name);
    await form.getByRole('button', { name: 'Create' }).click();
    await page.getByText(new RegExp(`Cluster ${name} is provisioning`)).waitFor();
    await shoot(page, 'custom-created-1280');
    await assertAccessible(page, 'the clusters page with a custom cluster created');

    const cli = JSON.parse(await drover.cli('clusters', 'get', name, '-o', 'json')) as { id: string; provisioning: { registration: { nodeCommand: string }; snapshotSchedule?: { everySeconds: number; retention: number } } };
    clusterId = cli.id;
    assert.equal(await shownCommand(page), cli.provisioning.registration.nodeCommand, 'every role: exactly the command the CLI prints');
    assert.deepEqual(cli.provisioning.snapshotSchedule, { everySeconds: 43200, retention: 5 }, 'RKE2\'s default schedule, as no schedule was asked for');
    assert.match(await drover.cli('clusters', 'get', name), /etcd snapshots every 12h, the newest 5 scheduled ones kept/);

    await page.getByRole('checkbox', { name: 'Worker' }).uncheck();
    assert.equal(await shownCommand(page), cli.provisioning.registration.nodeCommand.replace('--roles etcd,controlplane,worker', '--roles etcd,controlplane'));
    await page.getByRole('checkbox', { name: 'etcd' }).uncheck();
    await page.getByRole('checkbox', { name: 'Control plane' }).uncheck();
    await page.getByRole('alert').getByText('Choose at least one role for this machine.').waitFor();
    for (const role of ['Worker', 'Control plane', 'etcd']) await page.getByRole('checkbox', { name: role }).check();
    await page.getByLabel('Node name (optional)').fill('n1');
    assert.equal(await shownCommand(page), `${cli.provisioning.registration.nodeCommand} --node-name n1`, 'roles back in their fixed order, the name added');
    await page.getByLabel('Node name (optional)').fill('n1; rm -rf /');
    assert.equal(await shownCommand(page), cli.provisioning.registration.nodeCommand, 'a name that is not a node name never reaches the command');
    await page.getByLabel('Node name (optional)').fill('n1');
  });

  it('a node agent run with the command the UI showed builds the cluster; its page shows each step reach done and the cluster go active', async () => {
    const { page } = browser;
    const node = startNodeAgent(await shownCommand(page), { dataDir: join(dirs, 'n1'), nodeName: 'n1' });
    nodes.push(node);
    await page.getByRole('link', { name }).first().click();
    await page.getByRole('heading', { name: 'Provisioning' }).waitFor();
    const n1 = page.getByRole('region', { name: 'Node n1', exact: true });
    await n1.waitFor({ timeout: 60_000 });
    await page.locator('.badge', { hasText: 'Provisioning' }).first().waitFor();
    await shoot(page, 'custom-provisioning-1280');
    await page.locator('h1 .badge', { hasText: 'Active' }).waitFor({ timeout: 300_000 }).catch((error: unknown) => {
      throw new Error(`${String(error)}; node agent: ${node.output().slice(-3000)}`);
    });
    for (const step of ['plan', 'binaries', 'files', 'etcd', 'kube-apiserver', 'kube-api-auth', 'kube-controller-manager', 'kube-scheduler', 'kubelet']) {
      await n1.locator(`tr[data-step="${step}"][data-state="done"]`).waitFor({ timeout: 30_000 });
    }
    await n1.getByText(/9 of 9 steps done/).waitFor();
    await page.getByText('Loading…').first().waitFor({ state: 'detached' });
    await shoot(page, 'custom-active-1280');
    await assertAccessible(page, 'a provisioned cluster\'s page');
  });

  it('takes an etcd snapshot from the page and lists it; restores to it after a confirmation that says what a restore undoes', async () => {
    const { page } = browser;
    await page.getByText(/a snapshot every 12h, the newest 5 scheduled ones kept/).waitFor();
    await page.getByRole('button', { name: 'Take a snapshot now' }).click();
    const taken = await page.getByRole('status').getByText(/Snapshot s-\w+ taken from node n1/).textContent() ?? '';
    const id = /Snapshot (s-\w+)/.exec(taken)?.[1] ?? '';
    const row = page.getByRole('region', { name: 'etcd snapshots', exact: true }).locator(`tr[data-snapshot="${id}"]`);
    await row.getByRole('cell', { name: 'admin' }).waitFor();
    assert.match(await drover.cli('clusters', 'snapshots', 'list', name), new RegExp(`${id}\\s.*n1\\s.*admin`), 'the CLI lists the same snapshot');

    await row.getByRole('button', { name: `Restore snapshot ${id}` }).click();
    const confirm = page.getByRole('group', { name: 'Confirm restore' });
    assert.match(await confirm.textContent() ?? '', /every object created after the snapshot is gone, and every change made since is undone/);
    await shoot(page, 'custom-restore-confirm-1280');
    await assertAccessible(page, 'the restore confirmation');
    await confirm.getByRole('button', { name: `Restore to ${id}` }).click();
    await page.getByRole('status').getByText(/Restore r-\w+ asked: n1 restore snapshot/).waitFor();
    const n1 = page.getByRole('region', { name: 'Node n1', exact: true });
    await n1.locator('tr[data-step="etcd-restore"][data-state="done"]').waitFor({ timeout: 120_000 });
    await n1.getByText(/10 of 10 steps done/).waitFor({ timeout: 120_000 });
    await page.locator('h1 .badge', { hasText: 'Active' }).waitFor({ timeout: 120_000 });
  });

  it('changes the snapshot schedule and retention, which the CLI shows', async () => {
    const { page } = browser;
    await page.getByRole('button', { name: 'Change the schedule' }).click();
    const form = page.getByRole('form', { name: 'Snapshot schedule' });
    await form.getByLabel('Every').fill('5s');
    await form.getByRole('button', { name: 'Save the schedule' }).click();
    await page.getByRole('alert').getByText(/"5s" is not a schedule: give a duration of at least 10s/).waitFor();
    await form.getByLabel('Every').fill('6h');
    await form.getByLabel('Keep').fill('3');
    await form.getByRole('button', { name: 'Save the schedule' }).click();
    await page.getByText(/a snapshot every 6h, the newest 3 scheduled ones kept/).waitFor();
    assert.match(await drover.cli('clusters', 'get', name), /etcd snapshots every 6h, the newest 3 scheduled ones kept/);
  });

  it('shows a failed step with the node and the reason', async () => {
    const { page } = browser;
    // Opened before any node registered, the page showed the command at once; fresh, it offers it behind a button.
    await page.reload();
    await page.getByRole('button', { name: 'Show the node command' }).click();
    for (const role of ['etcd', 'Control plane']) await page.getByRole('checkbox', { name: role }).uncheck();
    await page.getByLabel('Node name (optional)').fill('w-bad');
    const command = await shownCommand(page);
    assert.match(command, / --roles worker .* --node-name w-bad$/);
    // A file where the node keeps var/lib/etcd and var/lib/kubelet: its `files` step cannot make them.
    const dataDir = join(dirs, 'w-bad');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'var'), 'not a directory');
    nodes.push(startNodeAgent(command, { dataDir, nodeName: 'w-bad' }));
    const alert = page.getByRole('region', { name: 'Node w-bad', exact: true }).getByRole('alert');
    await alert.getByText(/^Step files failed on node w-bad: .*var/).waitFor({ timeout: 120_000 });
    await page.getByRole('region', { name: 'Node w-bad', exact: true }).locator('tr[data-step="files"][data-state="failed"]').waitFor();
    await shoot(page, 'custom-failed-step-1280');
    assert.match(await drover.cli('clusters', 'get', name), /failed\s+files: .*var/, 'the CLI shows the same failure');
    assert.equal((await drover.getCluster(name)).state, 'active', 'a failing worker does not take the cluster down');
  });

  it('shows the new pages at phone width without overflow, accessibly', async () => {
    await inOwnBrowser(async (page) => {
      await login(page, drover.server.url, 'admin', adminPassword);
      await page.getByRole('form', { name: 'Create a custom cluster' }).waitFor();
      await assertNoOverflow(page, 'the clusters page');
      await assertAccessible(page, 'the clusters page at phone width');
      await shoot(page, 'custom-clusters-phone');
      await page.goto(`${drover.server.url}/clusters/${clusterId}`);
      await page.getByRole('region', { name: 'Node w-bad', exact: true }).getByRole('alert').waitFor();
      await page.getByRole('button', { name: 'Show the node command' }).click();
      await page.getByText('Loading…').first().waitFor({ state: 'detached' });
      await assertNoOverflow(page, 'a provisioned cluster\'s page');
      await assertAccessible(page, 'a provisioned cluster\'s page at phone width');
      await shoot(page, 'custom-cluster-phone');
    }, { viewport: phone });
  });

  it('offers a cluster owner who is no Drover admin the cluster\'s state, but none of the admin-only provisioning views (no 403 on the way)', async () => {
    await asClusterOwner(drover, name, `bob-${suffix}`, async (page) => {
      assert.equal(await page.getByRole('form', { name: 'Create a custom cluster' }).count(), 0);
      await page.getByRole('link', { name }).click();
      await page.locator('h1 .badge', { hasText: 'Active' }).waitFor();
      await page.getByRole('heading', { name: 'Projects' }).waitFor();
      await page.getByText('Loading…').first().waitFor({ state: 'detached' });
      for (const heading of ['Provisioning', 'etcd snapshots', 'Registration']) assert.equal(await page.getByRole('heading', { name: heading }).count(), 0, heading);
    });
    assert.deepEqual(browser.problems, []);
  });
});
