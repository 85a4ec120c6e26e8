/**
 * A provisioned cluster's Kubernetes upgrade in the web UI, in a real Chromium
 * against a real `drover server` with the test build's two Kubernetes versions
 * and a real node agent: a 1-node cluster made at the previous version is offered
 * only newer versions, an upgrade asked for before it is active shows the server's
 * refusal, and once active an admin upgrades it through the page's confirmation and
 * sees the node go done and the cluster's version change. A version whose
 * kube-apiserver exits stops the upgrade at the node with its reason; the cause
 * fixed, "Resume" finishes it. A worker whose node agent is killed is shown
 * Unreachable. The new parts go through axe-core and, at 390 px, an overflow check;
 * a cluster owner who is no Drover admin is not offered the upgrade.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { adminPassword, startDrover, type Drover } from '../testenv/drover.ts';
import { upgradeBinaries, type UpgradeBinaries } from '../testenv/upgrade-binaries.ts';
import { startNodeAgent, stopNodeAgents, type NodeAgentProcess } from '../testenv/node-agents.ts';
import { ensureUiBuilt, launchBrowser, type TestBrowser } from '../testenv/browser.ts';
import { artifacts, asClusterOwner, assertAccessible, assertNoOverflow, inOwnBrowser, login, phone, shoot } from './ui-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const name = `uiup-${suffix}`;
const quiet = (): void => undefined;

describe('upgrading a provisioned cluster in the web UI', { timeout: 600_000 }, () => {
  let drover: Drover;
  let browser: TestBrowser;
  let versions: { current: string; previous: string };
  let nodeCommand = '';
  let clusterUrl = '';
  const nodes: NodeAgentProcess[] = [];
  const dirs = mkdtempSync(join(tmpdir(), 'drover-ui-upgrade-'));
  // A version whose kube-apiserver exits at once until fixed, as in provisioning-upgrade.test.ts.
  let binaries: UpgradeBinaries;

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    ensureUiBuilt();
    binaries = await upgradeBinaries(dirs, quiet);
    versions = binaries.versions;
    drover = await startDrover({ serverArgs: ['--kubernetes-binaries', binaries.dir] });
    browser = await launchBrowser();
    browser.page.setDefaultTimeout(20_000);
  });
  after(async () => {
    await stopNodeAgents(nodes);
    await browser?.close();
    await drover?.stop();
    rmSync(dirs, { recursive: true, force: true });
  });

  const progress = (): Locator => browser.page.getByRole('region', { name: 'Upgrade progress', exact: true });
  const upgradeForm = (): Locator => browser.page.getByRole('form', { name: 'Upgrade Kubernetes' });

  it('offers only versions newer than the cluster\'s, and shows the server\'s refusal of an upgrade before the cluster is active', async () => {
    const created = JSON.parse(await drover.cli('clusters', 'create', name, '--custom', '--kubernetes-version', versions.previous, '-o', 'json')) as { cluster: { id: string }; registration: { nodeCommand: string } };
    nodeCommand = created.registration.nodeCommand;
    clusterUrl = `${drover.server.url}/clusters/${created.cluster.id}`;
    const { page } = browser;
    await login(page, drover.server.url, 'admin', adminPassword);
    await page.getByRole('heading', { name: 'Clusters', exact: true }).waitFor();
    await page.goto(clusterUrl);
    await page.getByRole('heading', { name: 'Kubernetes upgrade' }).waitFor();
    assert.deepEqual(await upgradeForm().getByLabel('Upgrade to').locator('option').allTextContents(), [binaries.broken, versions.current], 'newer versions only, newest first');

    await upgradeForm().getByLabel('Upgrade to').selectOption(versions.current);
    await upgradeForm().getByRole('button', { name: 'Upgrade Kubernetes…' }).click();
    const confirm = page.getByRole('group', { name: 'Confirm upgrade' });
    const said = await confirm.textContent() ?? '';
    assert.match(said, /one node at a time: the etcd nodes first, then the control-plane nodes, then the workers/);
    assert.match(said, new RegExp(`Downgrades are impossible: once the upgrade starts, the cluster cannot go back to ${versions.previous}`));
    await assertAccessible(page, 'the upgrade confirmation');
    browser.expectHttpError(409, /\/upgrade$/);
    await confirm.getByRole('button', { name: `Upgrade to ${versions.current}` }).click();
    await page.getByRole('alert').getByText(new RegExp(`cluster "${name}" is provisioning, not active`)).waitFor();

    nodes.push(startNodeAgent(nodeCommand, { dataDir: join(dirs, 'n1'), nodeName: 'n1' }));
    await page.locator('h1 .badge', { hasText: 'Active' }).waitFor({ timeout: 300_000 }).catch((error: unknown) => {
      throw new Error(`${String(error)}; node agent: ${nodes[0]?.output().slice(-3000) ?? ''}`);
    });
  });

  it('upgrades the cluster through the page: the node goes done and the cluster\'s version changes', async () => {
    const { page } = browser;
    await upgradeForm().getByLabel('Upgrade to').selectOption(versions.current);
    await upgradeForm().getByRole('button', { name: 'Upgrade Kubernetes…' }).click();
    await page.getByRole('group', { name: 'Confirm upgrade' }).getByRole('button', { name: `Upgrade to ${versions.current}` }).click();
    await progress().getByText(`Upgrade ${versions.previous} → ${versions.current}`).waitFor();
    await shoot(page, 'upgrade-running-1280');
    await progress().locator('tr[data-node="n1"][data-state="done"]').waitFor({ timeout: 300_000 }).catch((error: unknown) => {
      throw new Error(`${String(error)}; node agent: ${nodes[0]?.output().slice(-3000) ?? ''}`);
    });
    await page.locator('[data-upgrade-state="done"]').waitFor({ timeout: 60_000 });
    assert.match(await progress().locator('tr[data-node="n1"]').textContent() ?? '', /kube-apiserver \d+\.\d s/, 'the node\'s step times');
    await page.getByText(`Built by Drover at Kubernetes ${versions.current}`).waitFor({ timeout: 60_000 });
    assert.equal((await drover.getCluster(name)).kubernetesVersion, versions.current, 'the CLI shows the same version');
    await shoot(page, 'upgrade-done-1280');
    await assertAccessible(page, 'a provisioned cluster\'s page after an upgrade');
  });

  it('stops at the node that failed with the reason; Resume finishes it once the cause is fixed', async () => {
    const { page } = browser;
    // kube-apiserver's restart may have counted as failed probes: the server starts an upgrade of an active cluster only.
    await drover.waitForState(name, 'active', 120_000);
    assert.deepEqual(await upgradeForm().getByLabel('Upgrade to').locator('option').allTextContents(), [binaries.broken], 'only what is newer than the new version');
    await upgradeForm().getByRole('button', { name: 'Upgrade Kubernetes…' }).click();
    await page.getByRole('group', { name: 'Confirm upgrade' }).getByRole('button', { name: `Upgrade to ${binaries.broken}` }).click();
    await progress().getByRole('alert').getByText(/^The upgrade stopped at the first failure: node n1: step kube-apiserver failed/).waitFor({ timeout: 180_000 });
    await progress().locator('tr[data-node="n1"][data-state="failed"]').waitFor();
    assert.equal(await upgradeForm().count(), 0, 'no other version is offered while a failed upgrade waits to be resumed');
    await shoot(page, 'upgrade-failed-1280');
    await assertAccessible(page, 'a failed upgrade');

    binaries.fix();
    await page.getByRole('button', { name: `Resume the upgrade to ${binaries.broken}` }).click();
    await page.locator('[data-upgrade-state="done"]').waitFor({ timeout: 300_000 });
    await page.getByText(`Built by Drover at Kubernetes ${binaries.broken}`).waitFor({ timeout: 60_000 });
  });

  it('shows a node whose agent went silent as Unreachable, saying what that means', async () => {
    const { page } = browser;
    const worker = startNodeAgent(nodeCommand, { dataDir: join(dirs, 'w2'), nodeName: 'w2', roles: 'worker' });
    nodes.push(worker);
    const w2 = page.getByRole('region', { name: 'Node w2', exact: true });
    await w2.locator('tr[data-step="plan"]').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('[data-unreachable]').count(), 0, 'no node is unreachable while its agent asks');
    await worker.stop('SIGKILL');
    worker.killProcesses();
    // The server counts a node silent after 30 s without a plan request (its agent asks every 10 s).
    await w2.locator('[data-unreachable]').waitFor({ timeout: 90_000 });
    assert.match(await w2.locator('[data-unreachable]').textContent() ?? '', /Unreachable No word from its node agent for \d+ s .*the machine or its node agent is down, or cannot reach the server/);
    assert.equal(await page.getByRole('region', { name: 'Node n1', exact: true }).locator('[data-unreachable]').count(), 0, 'only the silent node');
    assert.match(await drover.cli('clusters', 'get', name), /w2 \[worker\][^\n]*\n\s+UNREACHABLE/, 'the CLI says the same');
    await shoot(page, 'upgrade-unreachable-1280');
    await assertAccessible(page, 'an unreachable node');
  });

  it('shows the upgrade and the unreachable node at phone width without overflow, accessibly', async () => {
    await inOwnBrowser(async (page) => {
      await login(page, drover.server.url, 'admin', adminPassword);
      await page.getByRole('heading', { name: 'Clusters', exact: true }).waitFor();
      await page.goto(clusterUrl);
      await page.locator('[data-unreachable]').waitFor();
      await page.locator('[data-upgrade-state="done"]').waitFor();
      await page.getByText('Loading…').first().waitFor({ state: 'detached' });
      await assertNoOverflow(page, 'a provisioned cluster\'s page with an upgrade and an unreachable node');
      await assertAccessible(page, 'a provisioned cluster\'s page with an upgrade at phone width');
      await shoot(page, 'upgrade-phone');
    }, { viewport: phone });
  });

  it('offers a cluster owner who is no Drover admin no upgrade', async () => {
    await asClusterOwner(drover, name, `bob-${suffix}`, async (page) => {
      await page.goto(clusterUrl);
      await page.locator('h1 .badge').waitFor();
      await page.getByText('Loading…').first().waitFor({ state: 'detached' });
      for (const heading of ['Provisioning', 'Kubernetes upgrade']) assert.equal(await page.getByRole('heading', { name: heading }).count(), 0, heading);
      assert.equal(await page.getByRole('form', { name: 'Upgrade Kubernetes' }).count(), 0);
    });
    assert.deepEqual(browser.problems, []);
  });
});
