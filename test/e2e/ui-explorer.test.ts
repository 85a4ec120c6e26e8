/**
 * The cluster explorer in a real Chromium against a real `drover server`, a real
 * private control plane with a test node (running pods) and a real agent, as three
 * people: an admin, a cluster member (sees nodes, nothing inside namespaces) and a
 * project member (sees their project's namespaces and what is in them, without any
 * cluster-wide list right). Lists come live from watches; a CRD appears with its
 * columns. Each of the three browses, edits YAML (dry-run diff, then apply), follows a
 * pod's logs, types into a pod terminal and runs `kubectl get pods` in the browser's
 * kubectl console, or is told in words that their role does not allow it. Every page
 * is checked with axe-core at desktop and phone width and for horizontal overflow at
 * phone width, and the browser must see no console error and no 4xx/5xx answer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually, kubectl, kubectlOk, startPrivateControlPlane, startTestNode, type PrivateControlPlane, type TestNode } from '../testenv/index.ts';
import { adminPassword, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import type { Locator, Page, WebSocket } from 'playwright-core';
import { ensureUiBuilt, launchBrowser, type TestBrowser } from '../testenv/browser.ts';
import { assertAccessible, assertNoOverflow, login, phone, shoot } from './ui-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const password = 'explorer-password-123';
const bob = `bob-${suffix}`; // cluster member
const carol = `carol-${suffix}`; // project member
const teamNs = `team-${suffix}`;

const desktop = { width: 1280, height: 900 };

/** Opens a terminal (sh) on the pod page shown, waits until the shell is connected, and gives it the keyboard. */
async function openTerminal(page: Page): Promise<Locator> {
  await page.getByRole('button', { name: 'Open a terminal' }).click();
  await page.getByText('Connected to web').waitFor({ timeout: 20_000 });
  const terminal = page.getByRole('region', { name: 'Terminal in web' });
  await terminal.click();
  return terminal;
}

/** Types `line` and Enter into the terminal, then waits for its screen to show `answer`; returns the match. */
async function typeLine(page: Page, terminal: Locator, line: string, answer: RegExp): Promise<RegExpMatchArray> {
  await page.keyboard.type(`${line}\n`);
  return await eventually(`the terminal to answer ${line}`, async () => ((await terminal.textContent()) ?? '').match(answer) ?? undefined, 15_000);
}

/** Opens the cluster page's kubectl console; the answer runs one command line and waits for it in the transcript. */
async function openConsole(page: Page): Promise<{ run: (line: string) => Promise<void>; output: Locator }> {
  await page.getByRole('button', { name: 'Open a kubectl console' }).click();
  const form = page.getByRole('form', { name: 'kubectl command' });
  const output = page.getByLabel('kubectl output');
  const run = async (line: string): Promise<void> => {
    await form.getByLabel('Command').fill(line);
    await form.getByRole('button', { name: 'Run' }).click();
    await output.getByText(`$ ${line}`).waitFor();
  };
  return { run, output };
}

describe('cluster explorer in a real browser', { timeout: 300_000 }, () => {
  let cp: PrivateControlPlane;
  let drover: Drover;
  let node: TestNode;
  let cluster: RegisteredCluster;
  let browser: TestBrowser;
  const admin = (): { kubeconfig: string } => ({ kubeconfig: cp.state.kubeconfigPath });
  const explore = (rest: string): string => `${drover.server.url}/clusters/${cluster.id}/explore/${rest}`;

  before(async () => {
    ensureUiBuilt();
    cp = await startPrivateControlPlane();
    [drover, node] = await Promise.all([startDrover(), startTestNode(cp.state)]);
    cluster = await drover.registerCluster(`explore-${suffix}`, cp.state);
    for (const user of [bob, carol]) await drover.cli('users', 'create', user, '--password', password);
    await drover.cli('members', 'add', '--cluster', cluster.name, '--user', bob, '--role', 'cluster-member');
    await drover.cli('projects', 'create', cluster.name, 'team');
    await drover.cli('projects', 'create-namespace', cluster.name, 'team', teamNs);
    await drover.cli('members', 'add', '--cluster', cluster.name, '--project', 'team', '--user', carol, '--role', 'project-member');
    await kubectlOk(['apply', '-f', '-'], { ...admin(), input: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: teamNs },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } },
        spec: { nodeSelector: { 'kubernetes.io/hostname': node.name }, terminationGracePeriodSeconds: 2,
          containers: [{ name: 'web', image: 'none', command: ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 1; done'] }] } } },
    }) });
    await kubectlOk(['rollout', 'status', '-n', teamNs, 'deployment/web', '--timeout=90s'], { ...admin(), timeoutMs: 100_000 });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await node?.stop();
    await drover?.stop();
    await cp?.stop();
  });

  it('admin: from the cluster page to the explorer, namespaces grouped by project, a Deployment with kubectl\'s columns', async () => {
    const { page } = browser;
    await login(page, drover.server.url, 'admin', adminPassword);
    await page.getByRole('link', { name: cluster.name }).click();
    await page.getByRole('link', { name: 'Explore the cluster' }).click();
    const nav = page.getByRole('navigation', { name: 'Resources' });
    await nav.getByLabel('Namespace').locator('optgroup[label="Project team"] option', { hasText: teamNs }).waitFor({ state: 'attached' });
    await nav.getByLabel('Namespace').selectOption(teamNs);
    await nav.getByRole('link', { name: 'Deployments' }).click();
    const list = page.getByRole('region', { name: 'Deployments' });
    for (const column of ['Name', 'Ready', 'Up-to-date', 'Available', 'Age']) await list.getByRole('columnheader', { name: column }).waitFor();
    await list.locator('tr[data-name="web"]').getByRole('cell', { name: '1/1' }).waitFor({ timeout: 30_000 });
    await shoot(page, 'explorer-deployments-1280');
    await assertAccessible(page, 'the Deployments list');
  });

  it('admin: the cluster dashboard shows allocatable against requests, node conditions and live warnings', async () => {
    const { page } = browser;
    await page.goto(explore(''));
    await page.getByRole('heading', { name: 'Cluster dashboard' }).waitFor();
    for (const gauge of ['CPU', 'Memory', 'Pods']) await page.getByRole('meter', { name: `${gauge} requested` }).waitFor();
    await page.getByText(/^\d+ of \d+ requested \(\d+%\)$/).waitFor();
    await page.getByRole('region', { name: 'Node conditions' }).getByRole('row', { name: new RegExp(`${node.name} Ready`) }).waitFor();
    await kubectlOk(['apply', '-f', '-'], { ...admin(), input: JSON.stringify({
      apiVersion: 'v1', kind: 'Event', metadata: { name: `warn-${suffix}`, namespace: teamNs }, type: 'Warning', reason: 'ExplorerTest', message: 'something to look at',
      involvedObject: { kind: 'Deployment', name: 'web', namespace: teamNs, apiVersion: 'apps/v1' }, firstTimestamp: new Date().toISOString(), lastTimestamp: new Date().toISOString(), count: 1,
    }) });
    await page.getByRole('region', { name: 'Warning events' }).getByRole('cell', { name: 'ExplorerTest' }).waitFor({ timeout: 15_000 });
    await shoot(page, 'explorer-dashboard-1280');
    await assertAccessible(page, 'the cluster dashboard');
  });

  it('admin: lists stay live through watches, and filter and sort', async () => {
    const { page } = browser;
    await page.goto(explore(`${teamNs}/deployments.apps`));
    await page.getByRole('navigation', { name: 'Resources' }).getByRole('link', { name: 'Config Maps' }).click();
    const list = page.getByRole('region', { name: 'Config Maps' });
    await list.locator('tr[data-name="kube-root-ca.crt"]').waitFor();
    await kubectlOk(['create', 'configmap', 'zz-added-live', '-n', teamNs, '--from-literal=a=b'], admin());
    await list.locator('tr[data-name="zz-added-live"]').waitFor({ timeout: 15_000 });
    await kubectlOk(['create', 'configmap', 'aa-second', '-n', teamNs], admin());
    await list.locator('tr[data-name="aa-second"]').waitFor({ timeout: 15_000 });
    // Sorting by Name, descending: zz first.
    await list.getByRole('button', { name: /^Name/ }).click();
    assert.equal(await list.locator('tbody tr').first().getAttribute('data-name'), 'zz-added-live');
    await page.getByLabel('Filter').fill('aa-sec');
    await list.locator('tr[data-name="zz-added-live"]').waitFor({ state: 'detached' });
    assert.equal(await list.locator('tbody tr').count(), 1);
    await kubectlOk(['delete', 'configmap', 'aa-second', '-n', teamNs], admin());
    await list.locator('tr[data-name="aa-second"]').waitFor({ state: 'detached', timeout: 15_000 });
    await page.getByText(/^0 of \d+ config maps, live$/).waitFor();
  });

  it('admin: a CRD appears under More resources, its objects with the CRD\'s printer columns', async () => {
    const { page } = browser;
    await kubectlOk(['apply', '-f', '-'], { ...admin(), input: JSON.stringify({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
      spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'string' } } } } } },
          additionalPrinterColumns: [{ name: 'Size', type: 'string', jsonPath: '.spec.size' }] }] },
    }) });
    await kubectlOk(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=30s'], admin());
    await kubectlOk(['apply', '-f', '-'], { ...admin(), input: JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'blue', namespace: teamNs }, spec: { size: 'large' } }) });
    // Discovery is read when the explorer opens: open it again.
    await page.goto(explore(`${teamNs}/widgets.example.com`));
    const list = page.getByRole('region', { name: 'Widgets' });
    await list.getByRole('columnheader', { name: 'Size' }).waitFor();
    await list.locator('tr[data-name="blue"]').getByRole('cell', { name: 'large' }).waitFor();
    // Opened, as it holds the current kind.
    await page.getByRole('link', { name: 'widgets.example.com' }).waitFor();
  });

  it('admin: a Deployment\'s page shows its ReplicaSet and Pod; YAML edited with a dry-run diff, a field conflict, then forced', async () => {
    const { page } = browser;
    await page.goto(explore(`${teamNs}/deployments.apps/web`));
    const related = page.getByRole('region', { name: 'Related objects' });
    await related.getByRole('cell', { name: 'ReplicaSet', exact: true }).waitFor();
    await related.getByRole('cell', { name: 'Running' }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Edit YAML' }).click();
    const editor = page.getByLabel('Edit, then review the server\'s dry run before applying');
    const yaml = await editor.inputValue();
    assert.match(yaml, /replicas: 1\n/);
    assert.doesNotMatch(yaml, /managedFields|resourceVersion/);
    await editor.fill(yaml.replace(/replicas: 1\n/, 'replicas: 2\n'));
    // kubectl apply (client-side) owns spec.replicas: the server's dry run names the conflict.
    browser.expectHttpError(409, /\/deployments\/web$/);
    await page.getByRole('button', { name: 'Review changes' }).click();
    await page.getByRole('alert').getByText(/conflict/i).waitFor();
    await shoot(page, 'explorer-conflict-1280');
    await assertAccessible(page, 'a Deployment\'s page with the editor');
    await page.getByRole('button', { name: 'Take over the conflicting fields' }).click();
    const changes = page.getByLabel('Changes');
    await changes.getByText('- replicas: 1').waitFor();
    await changes.getByText('+ replicas: 2').waitFor();
    await page.getByRole('button', { name: 'Apply, forcing' }).click();
    await page.getByText('Applied with server-side apply as "drover-ui".').waitFor();
    const after = JSON.parse(await kubectlOk(['get', 'deployment', 'web', '-n', teamNs, '-o', 'json', '--show-managed-fields'], admin())) as { spec: { replicas: number }; metadata: { managedFields: Array<{ manager: string }> } };
    assert.equal(after.spec.replicas, 2);
    assert.ok(after.metadata.managedFields.some((f) => f.manager === 'drover-ui'));
  });

  it('admin: a pod\'s logs are followed', async () => {
    const { page } = browser;
    await page.goto(explore(`${teamNs}/pods`));
    await page.getByRole('region', { name: 'Pods' }).getByRole('link', { name: /^web-/ }).first().click();
    const logs = page.getByLabel('Logs of web');
    await logs.getByText(/tick \d+/).first().waitFor({ timeout: 20_000 });
    const first = (await logs.textContent() ?? '').match(/tick (\d+)/g)?.length ?? 0;
    await eventually('more lines while following', async () => (((await logs.textContent()) ?? '').match(/tick (\d+)/g)?.length ?? 0) > first ? true : undefined, 20_000);
    await shoot(page, 'explorer-pod-1280');
    await assertAccessible(page, 'a pod\'s page with its logs');
  });

  it('admin: a pod terminal answers, follows the viewport\'s width (the resize channel reaches the shell), and exit closes it with a message', async () => {
    const { page } = browser;
    await page.goto(explore(`${teamNs}/pods`));
    await page.getByRole('region', { name: 'Pods' }).getByRole('link', { name: /^web-/ }).first().click();
    // Every resize message the page sends: channel 4, then {"Width","Height"}.
    const resizes: Array<{ Width: number; Height: number }> = [];
    const onSocket = (ws: WebSocket): void => {
      ws.on('framesent', ({ payload }) => {
        if (typeof payload !== 'string' && payload[0] === 4) resizes.push(JSON.parse(payload.subarray(1).toString('utf8')) as { Width: number; Height: number });
      });
    };
    page.on('websocket', onSocket);
    const terminal = await openTerminal(page);
    await typeLine(page, terminal, 'echo "sum=$((40+2))"', /sum=42/);
    // `stty size` in the pod reads the pty's size, which only the resize channel (4) sets.
    const wide = await typeLine(page, terminal, 'echo "wide=$(stty size)"', /wide=(\d+)\s+(\d+)/);
    const wideCols = Number(wide[2]);
    assert.equal(Number(wide[1]), 20, 'rows');
    assert.ok(wideCols > 80, `a desktop-wide terminal has more than 80 columns, the shell saw ${wideCols}`);
    await page.setViewportSize(phone);
    try {
      // The resize and the next line travel separate channels: ask again until the new width has arrived.
      let asked = 0;
      const narrowCols = await eventually('the shell to see the phone-width terminal', async () => {
        asked += 1;
        const seen = Number((await typeLine(page, terminal, `echo "narrow${asked}=$(stty size)"`, new RegExp(`narrow${asked}=\\d+\\s+(\\d+)`)))[1]);
        return seen < wideCols ? seen : undefined;
      }, 30_000);
      assert.ok(narrowCols >= 20 && narrowCols < 50, `a phone-wide terminal has 20 to 50 columns, the shell saw ${narrowCols}`);
      assert.deepEqual(resizes.at(-1), { Width: narrowCols, Height: 20 }, 'the last resize message sent is the size the shell sees');
      assert.ok(resizes.some((r) => r.Width === wideCols), 'the first size was sent on the same channel');
      await assertNoOverflow(page, 'pod terminal (admin, phone width)');
    } finally {
      await page.setViewportSize(desktop);
    }
    page.off('websocket', onSocket);
    await page.keyboard.type('exit\n');
    await page.getByRole('status').getByText('The shell exited; the session is closed.').waitFor({ timeout: 15_000 });
    await shoot(page, 'explorer-terminal-ended-1280');
    await page.getByRole('button', { name: 'Close the terminal' }).click();
    await page.getByRole('button', { name: 'Open a terminal' }).waitFor();
  });

  it('admin: the terminal and the YAML editor are loaded only by the pages that show them', async () => {
    const { page } = browser;
    const loaded: string[] = [];
    const record = (request: { url: () => string }): void => { loaded.push(new URL(request.url()).pathname); };
    page.on('request', record);
    try {
      const chunks = (pattern: RegExp): string[] => loaded.filter((path) => pattern.test(path));
      await page.goto(`${drover.server.url}/clusters/${cluster.id}`);
      await page.getByRole('button', { name: 'Open a kubectl console' }).waitFor();
      await page.goto(explore(`${teamNs}/pods`));
      const link = page.getByRole('region', { name: 'Pods' }).getByRole('link', { name: /^web-/ }).first();
      await link.waitFor();
      assert.deepEqual(chunks(/\/assets\/(yaml-editor|pod-terminal)-/), [], 'the cluster page and a list load neither');
      await link.click();
      await page.getByRole('button', { name: 'Edit YAML' }).waitFor();
      assert.equal(chunks(/\/assets\/yaml-editor-.*\.js$/).length, 1, 'a resource page loads the editor');
      assert.deepEqual(chunks(/\/assets\/pod-terminal-/), [], 'until a terminal is opened');
      await openTerminal(page);
      assert.equal(chunks(/\/assets\/pod-terminal-.*\.js$/).length, 1, 'opening a terminal loads xterm.js');
      await page.getByRole('button', { name: 'Close the terminal' }).click();
    } finally {
      page.off('request', record);
    }
  });

  it('admin: kubectl get pods in the browser\'s kubectl console', async () => {
    const { page } = browser;
    await page.goto(`${drover.server.url}/clusters/${cluster.id}`);
    const { run, output } = await openConsole(page);
    await run(`kubectl get pods -n ${teamNs}`);
    await output.getByText(/web-\S+\s+1\/1\s+Running/).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Close the console' }).click();
    await page.getByRole('button', { name: 'Open a kubectl console' }).waitFor();
  });

  it('admin: scale, rollout restart, and delete after a confirmation', async () => {
    const { page } = browser;
    await page.goto(explore(`${teamNs}/deployments.apps/web`));
    const scale = page.getByRole('form', { name: 'Scale' });
    await scale.getByLabel('Replicas').fill('1');
    await scale.getByRole('button', { name: 'Scale' }).click();
    await page.getByText('Scaled to 1.').waitFor();
    await page.getByRole('button', { name: 'Rollout restart' }).click();
    await page.getByText('Restarted: a new rollout has begun.').waitFor();
    const restarted = await kubectlOk(['get', 'deployment', 'web', '-n', teamNs, '-o', 'jsonpath={.spec.replicas} {.spec.template.metadata.annotations}'], admin());
    assert.match(restarted, /^1 .*kubectl\.kubernetes\.io\/restartedAt/);
    await kubectlOk(['create', 'configmap', 'doomed', '-n', teamNs], admin());
    await page.goto(explore(`${teamNs}/configmaps/doomed`));
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('group', { name: 'Confirm delete' }).getByRole('button', { name: 'Delete doomed' }).click();
    await page.getByRole('region', { name: 'Config Maps' }).waitFor();
    await eventually('the ConfigMap is gone', async () => ((await kubectl(['get', 'configmap', 'doomed', '-n', teamNs], admin())).code !== 0 ? true : undefined), 15_000);
  });

  it('admin: a Secret\'s values stay hidden, in the YAML too, until revealed', async () => {
    const { page } = browser;
    await kubectlOk(['create', 'secret', 'generic', 'db', '-n', teamNs, '--from-literal=password=hunter2'], admin());
    await page.goto(explore(`${teamNs}/secrets/db`));
    const data = page.getByRole('region', { name: 'Secret data' });
    await data.getByRole('cell', { name: 'hidden' }).waitFor();
    const yaml = await page.getByLabel('YAML', { exact: true }).textContent() ?? '';
    assert.match(yaml, /password: "\(hidden/);
    assert.doesNotMatch(await page.content(), /hunter2|aHVudGVyMg/);
    await page.getByRole('button', { name: 'Reveal values' }).click();
    await data.getByText('hunter2').waitFor();
    await shoot(page, 'explorer-secret-1280');
    await assertAccessible(page, 'a Secret\'s page');
  });

  it('admin: every explorer page and the kubectl console pass axe-core at desktop and phone width, and none scrolls sideways on a phone', async () => {
    const { page } = browser;
    await kubectlOk(['create', 'configmap', 'sweep', '-n', teamNs, '--from-literal=colour=green'], admin());
    // Each page: where it is, and what shows it is ready (lists and terminals fill in after the first paint).
    const pages: Array<{ name: string; open: () => Promise<void> }> = [
      { name: 'dashboard', open: async () => {
        await page.goto(explore(''));
        await page.getByRole('region', { name: 'Node conditions' }).getByRole('row', { name: new RegExp(node.name) }).waitFor();
      } },
      { name: 'deployments', open: async () => {
        await page.goto(explore(`${teamNs}/deployments.apps`));
        await page.getByRole('region', { name: 'Deployments' }).locator('tr[data-name="web"]').waitFor();
      } },
      { name: 'deployment', open: async () => {
        await page.goto(explore(`${teamNs}/deployments.apps/web`));
        await page.getByRole('region', { name: 'Related objects' }).getByRole('cell', { name: 'Running' }).first().waitFor({ timeout: 30_000 });
      } },
      { name: 'pod-terminal', open: async () => {
        await page.goto(explore(`${teamNs}/pods`));
        await page.getByRole('region', { name: 'Pods' }).getByRole('link', { name: /^web-/ }).first().click();
        await page.getByLabel('Logs of web').getByText(/tick \d+/).first().waitFor({ timeout: 20_000 });
        await typeLine(page, await openTerminal(page), 'echo "sum=$((40+2))"', /sum=42/);
      } },
      { name: 'yaml-diff', open: async () => {
        await page.goto(explore(`${teamNs}/configmaps/sweep`));
        await page.getByRole('button', { name: 'Edit YAML' }).click();
        const editor = page.getByLabel('Edit, then review the server\'s dry run before applying');
        // A new key (kubectl owns colour: changing it would be a conflict), long enough to test wrapping.
        await editor.fill((await editor.inputValue()).replace('  colour: green\n', '  colour: green\n  note: a-rather-long-value-that-must-wrap-rather-than-widen-the-page-on-a-phone\n'));
        await page.getByRole('button', { name: 'Review changes' }).click();
        await page.getByLabel('Changes').getByText(/\+ {3}note: a-rather-long/).waitFor();
      } },
      { name: 'secrets', open: async () => {
        await page.goto(explore(`${teamNs}/secrets`));
        await page.getByRole('region', { name: 'Secrets' }).locator('tr[data-name="db"]').waitFor();
      } },
      { name: 'events', open: async () => {
        await page.goto(explore(`${teamNs}/events`));
        await page.getByRole('region', { name: 'Events' }).locator('tbody tr').first().waitFor();
      } },
      { name: 'widgets', open: async () => {
        await page.goto(explore(`${teamNs}/widgets.example.com`));
        await page.getByRole('region', { name: 'Widgets' }).locator('tr[data-name="blue"]').waitFor();
      } },
      { name: 'nodes', open: async () => {
        await page.goto(explore('_all/nodes'));
        await page.getByRole('region', { name: 'Nodes' }).locator(`tr[data-name="${node.name}"]`).waitFor();
      } },
      { name: 'node', open: async () => {
        await page.goto(explore(`_all/nodes/${node.name}`));
        await page.getByRole('region', { name: 'Conditions' }).getByRole('cell', { name: 'Ready', exact: true }).waitFor();
      } },
      { name: 'kubectl-console', open: async () => {
        await page.goto(`${drover.server.url}/clusters/${cluster.id}`);
        const { run, output } = await openConsole(page);
        await run('kubectl get pods -A');
        await output.getByText(/web-\S+\s+1\/1\s+Running/).waitFor({ timeout: 30_000 });
      } },
    ];
    // Each page is opened afresh at each width: a phone gets the phone's first layout, not a shrunk desktop one.
    for (const [width, viewport] of [['1280', desktop], ['phone', phone]] as const) {
      await page.setViewportSize(viewport);
      for (const { name, open } of pages) {
        await open();
        if (width === 'phone') await assertNoOverflow(page, `${name} at phone width`);
        await shoot(page, `sweep-${name}-${width}`);
        await assertAccessible(page, `${name} at ${width} width`);
      }
      await page.getByRole('button', { name: 'Close the console' }).click();
    }
    await page.setViewportSize(desktop);
  });

  it('project member: her project\'s namespace and pods, logs, a terminal, a YAML edit, the kubectl console; "nothing here" for nodes', async () => {
    const mobile = await launchBrowser({ viewport: phone });
    // The cluster page asks for the cluster's warnings, which span namespaces a project member's roles do not cover.
    mobile.expectHttpError(403, /\/warnings$/);
    try {
      const { page } = mobile;
      await login(page, drover.server.url, carol, password);
      await page.getByRole('link', { name: cluster.name }).click();
      await page.getByRole('link', { name: 'Explore the cluster' }).click();
      const nav = page.getByRole('navigation', { name: 'Resources' });
      await nav.getByLabel('Namespace').locator('option', { hasText: teamNs }).waitFor({ state: 'attached' });
      assert.equal(await nav.getByLabel('Namespace').locator('option').count(), 2, 'all, and the one namespace of her project');
      // The dashboard says in words that nodes are not hers to see.
      await page.getByText(/Your role does not show this cluster's nodes/).waitFor();
      await assertNoOverflow(page, 'dashboard (project member)');
      // Pods across every namespace she can see: her project's.
      // On a phone the kinds are folded under "Resources", so the dashboard starts on the first screen.
      assert.equal(await nav.getByRole('link', { name: 'Pods' }).isVisible(), false);
      await nav.locator('details.kinds > summary').click();
      await nav.getByRole('link', { name: 'Pods' }).click();
      const pods = page.getByRole('region', { name: 'Pods' });
      await pods.getByRole('cell', { name: 'Running' }).first().waitFor({ timeout: 30_000 });
      await assertNoOverflow(page, 'pods (project member)');
      await shoot(page, 'explorer-pods-phone');
      await assertAccessible(page, 'the pods list at phone width');
      // A terminal into her pod: exec over WebSocket through the proxy, as her; its logs followed first.
      await pods.getByRole('link', { name: /^web-/ }).first().click();
      await page.getByLabel('Logs of web').getByText(/tick \d+/).first().waitFor({ timeout: 20_000 });
      const terminal = await openTerminal(page);
      await typeLine(page, terminal, 'echo "sum=$((40+2))"', /sum=42/);
      await assertNoOverflow(page, 'pod terminal (project member)');
      await shoot(page, 'explorer-terminal-phone');
      await assertAccessible(page, 'a pod\'s page with a terminal');
      await page.getByRole('button', { name: 'Close the terminal' }).click();
      await page.getByRole('button', { name: 'Open a terminal' }).waitFor();
      // She edits a ConfigMap of her project: a new key, reviewed, applied (no one else owns it: no conflict).
      await kubectlOk(['create', 'configmap', 'carol-settings', '-n', teamNs, '--from-literal=colour=blue'], admin());
      await page.goto(explore(`${teamNs}/configmaps/carol-settings`));
      await page.getByRole('button', { name: 'Edit YAML' }).click();
      const editor = page.getByLabel('Edit, then review the server\'s dry run before applying');
      await editor.fill((await editor.inputValue()).replace('  colour: blue\n', '  colour: blue\n  size: large\n'));
      await page.getByRole('button', { name: 'Review changes' }).click();
      await page.getByLabel('Changes').getByText('+   size: large').waitFor();
      await page.getByRole('button', { name: 'Apply', exact: true }).click();
      await page.getByText('Applied with server-side apply as "drover-ui".').waitFor();
      assert.equal(await kubectlOk(['get', 'configmap', 'carol-settings', '-n', teamNs, '-o', 'jsonpath={.data.size}'], admin()), 'large');
      await nav.locator('details.kinds > summary').click();
      await nav.getByRole('link', { name: 'Nodes' }).click();
      await page.getByText(/Nothing here for you: you may not list Nodes in this cluster/).waitFor();
      // kubectl in the browser, as her, with a token of its own that ends with the console.
      await page.goto(`${drover.server.url}/clusters/${cluster.id}`);
      const { run, output } = await openConsole(page);
      await run(`kubectl get pods -n ${teamNs}`);
      await output.getByText(/web-\S+\s+1\/1\s+Running/).waitFor({ timeout: 30_000 });
      const consoleTokens = async (): Promise<number> => {
        const listed = await drover.as(carol, ['tokens', 'list', '-o', 'json']);
        assert.equal(listed.code, 0, listed.stderr);
        return (JSON.parse(listed.stdout) as Array<{ description: string }>).filter((t) => t.description.startsWith('browser kubectl console')).length;
      };
      const cliLogin = await drover.as(carol, ['login', drover.server.url, '--username', carol, '--password-stdin', '--ca-file', join(drover.server.dataDir, 'ca.crt')], password);
      assert.equal(cliLogin.code, 0, cliLogin.stderr);
      assert.equal(await consoleTokens(), 1);
      // Not a shell, not the server's files, not another server or identity: refused in words.
      mobile.expectHttpError(422, /\/shell\/[^/]+\/run$/);
      await run('kubectl get pods; cat /etc/passwd');
      await output.getByText(/refused: .*shell syntax/).waitFor();
      await run('kubectl get pods --kubeconfig=/etc/kubernetes/admin.conf');
      await output.getByText(/refused: the flag --kubeconfig/).waitFor();
      await run('kubectl get nodes');
      await output.getByText(/# not allowed: your role in this cluster does not let you do this/).waitFor();
      await assertNoOverflow(page, 'kubectl console (project member)');
      await shoot(page, 'kubectl-console-phone');
      await assertAccessible(page, 'the cluster page with a kubectl console');
      await page.getByRole('button', { name: 'Close the console' }).click();
      await page.getByRole('button', { name: 'Open a kubectl console' }).waitFor();
      await eventually('the console\'s token revoked', async () => ((await consoleTokens()) === 0 ? true : undefined), 15_000);
      await assertNoOverflow(page, 'nodes (project member)');
      assert.deepEqual(mobile.problems, []);
    } finally {
      await mobile.close();
    }
  });

  it('cluster member: sees the nodes; told in words that pods, their logs and terminals, and edits are not his', async () => {
    const other = await launchBrowser();
    // A cluster member may not list every namespace's events: the cluster page's warnings answer 403, and it says so.
    other.expectHttpError(403, /\/warnings$/);
    try {
      const { page } = other;
      await login(page, drover.server.url, bob, password);
      await page.getByRole('heading', { name: 'Clusters', exact: true }).waitFor();
      // kubectl in the browser as a cluster member: nodes yes, pods no (kubectl's refusal, then the console's words).
      await page.getByRole('link', { name: cluster.name }).click();
      const { run, output } = await openConsole(page);
      await run('kubectl get nodes');
      await output.getByText(new RegExp(`${node.name}\\s+Ready`)).waitFor({ timeout: 30_000 });
      await run(`kubectl get pods -n ${teamNs}`);
      await output.getByText(/Error from server \(Forbidden\): pods is forbidden/).waitFor({ timeout: 30_000 });
      await output.getByText(/# not allowed: your role in this cluster does not let you do this/).waitFor();
      await page.getByRole('button', { name: 'Close the console' }).click();
      // Browse: the nodes list and a node's page.
      await page.goto(explore('_all/nodes'));
      await page.getByRole('region', { name: 'Nodes' }).locator(`tr[data-name="${node.name}"]`).getByRole('cell', { name: 'Ready' }).waitFor({ timeout: 30_000 });
      await page.getByRole('region', { name: 'Nodes' }).getByRole('link', { name: node.name }).click();
      // Edit YAML: he reads the node's YAML, and is told he may not change it (no button that would end in a 403).
      await page.getByLabel('YAML', { exact: true }).getByText(`name: ${node.name}`).first().waitFor();
      await page.getByText('You may not edit this Node: your role lets you read it, not change it.').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Edit YAML' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Delete…' }).count(), 0);
      await shoot(page, 'explorer-node-readonly-1280');
      await assertAccessible(page, 'a node\'s page, read only');
      // Logs and terminal: the pod's page itself says it is not his, before any request could answer 403.
      await page.goto(explore(`${teamNs}/pods`));
      await page.getByText(`Nothing here for you: you may not list Pods in namespace ${teamNs}`).waitFor();
      const pod = (await kubectlOk(['get', 'pods', '-n', teamNs, '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'], admin())).trim();
      await page.goto(explore(`${teamNs}/pods/${pod}`));
      await page.getByText(`Nothing here for you: you may not read Pod ${pod} in namespace ${teamNs}. Ask a cluster or project owner for access.`).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Open a terminal' }).count(), 0);
      assert.equal(await page.getByLabel(/^Logs of/).count(), 0);
      await assertAccessible(page, 'a pod that is not yours');
      await page.goto(explore(`${teamNs}/secrets`));
      await page.getByText(`Nothing here for you: you may not list Secrets in namespace ${teamNs}`).waitFor();
      await shoot(page, 'explorer-nothing-1280');
      await assertAccessible(page, 'a list that is not yours');
      assert.deepEqual(other.problems, []);
    } finally {
      await other.close();
    }
  });

  it('logged no console errors, page errors or unexpected HTTP errors', () => {
    assert.deepEqual(browser.problems, []);
  });
});
