/**
 * What each built-in role template means on a real cluster: one user per role,
 * bound through `drover members add`, reconciled by the server, then asked with
 * `kubectl auth can-i` through the proxy, as that user, with the kubeconfig
 * `drover kubeconfig` generated for them.
 * A private control plane keeps other test files' Drover servers away from this RBAC.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectl, kubectlOk, startPrivateControlPlane, type PrivateControlPlane } from '../testenv/index.ts';
import { eventually, startDrover, type Drover, type RegisteredCluster } from '../testenv/drover.ts';
import { runCliForTest } from '../../src/testing/index.ts';
import { call } from './identity-support.ts';

const suffix = Math.random().toString(36).slice(2, 7);

/** [verb, resource, where] → expected; where is 'in' (project namespace), 'out' (another namespace) or 'cluster'. */
type Check = [string, string, 'in' | 'out' | 'cluster', boolean];

const matrix: Record<string, { scope: 'cluster' | 'project'; checks: Check[] }> = {
  'cluster-owner': { scope: 'cluster', checks: [['create', 'clusterrolebindings', 'cluster', true], ['delete', 'nodes', 'cluster', true], ['get', 'secrets', 'out', true]] },
  'cluster-member': { scope: 'cluster', checks: [['list', 'nodes', 'cluster', true], ['list', 'namespaces', 'cluster', true], ['get', 'pods', 'out', false], ['delete', 'nodes', 'cluster', false], ['create', 'clusterrolebindings', 'cluster', false]] },
  'view-nodes': { scope: 'cluster', checks: [['list', 'nodes', 'cluster', true], ['patch', 'nodes', 'cluster', false]] },
  'manage-nodes': { scope: 'cluster', checks: [['patch', 'nodes', 'cluster', true], ['get', 'secrets', 'out', false]] },
  'project-owner': { scope: 'project', checks: [['create', 'rolebindings', 'in', true], ['get', 'secrets', 'in', true], ['create', 'deployments.apps', 'in', true], ['get', 'pods', 'out', false], ['create', 'clusterrolebindings', 'cluster', false]] },
  'project-member': { scope: 'project', checks: [['create', 'deployments.apps', 'in', true], ['create', 'pods/exec', 'in', true], ['create', 'rolebindings', 'in', false], ['get', 'pods', 'out', false], ['list', 'nodes', 'cluster', false]] },
  'read-only': { scope: 'project', checks: [['get', 'pods', 'in', true], ['list', 'deployments.apps', 'in', true], ['create', 'pods', 'in', false], ['get', 'secrets', 'in', false], ['get', 'pods', 'out', false]] },
  'view-secrets': { scope: 'project', checks: [['get', 'secrets', 'in', true], ['create', 'secrets', 'in', false], ['get', 'pods', 'in', false]] },
};

describe('built-in role templates on a real cluster', () => {
  let cp: PrivateControlPlane;
  let drover: Drover;
  let cluster: RegisteredCluster;
  const nsIn = `roles-in-${suffix}`;
  const nsOut = `roles-out-${suffix}`;
  const kubeconfigs = new Map<string, string>();

  before(async () => {
    cp = await startPrivateControlPlane();
    drover = await startDrover();
    cluster = await drover.registerCluster(`roles-${suffix}`, cp.state);
    for (const ns of [nsIn, nsOut]) await kubectlOk(['create', 'namespace', ns], { kubeconfig: cp.state.kubeconfigPath });
    await drover.cli('projects', 'create', cluster.name, 'team');
    await drover.cli('projects', 'add-namespace', cluster.name, 'team', nsIn);
    for (const [role, { scope }] of Object.entries(matrix)) {
      const name = `r-${role}`;
      await drover.cli('users', 'create', name, '--password', 'a-password-long-enough', '-o', 'json');
      await drover.cli('members', 'add', '--cluster', cluster.name, ...(scope === 'project' ? ['--project', 'team'] : []), '--user', name, '--role', role);
      // The user logs in with their own CLI config and downloads their own kubeconfig.
      const configPath = join(drover.dir, `${name}.json`);
      const kubeconfig = join(drover.dir, `${name}.kubeconfig`);
      for (const argv of [
        ['login', drover.server.url, '--username', name, '--password', 'a-password-long-enough', '--ca-file', join(drover.dir, 'server', 'ca.crt')],
        ['kubeconfig', cluster.name, '--file', kubeconfig],
      ]) {
        const r = await runCliForTest(argv, { configPath });
        assert.equal(r.code, 0, `${name}: drover ${argv[0] ?? ''}: ${r.stderr}`);
      }
      kubeconfigs.set(role, kubeconfig);
    }
  });
  after(async () => {
    await drover?.stop();
    await cp?.stop();
  });

  it('shows the cluster\'s Warning events, read across namespaces, only to roles that may list events in all of them', async () => {
    // The events' messages name Secrets, volumes and images of every namespace.
    for (const [role, allowed] of [['cluster-owner', true], ['cluster-member', false], ['read-only', false], ['project-owner', false]] as const) {
      const { token } = JSON.parse(readFileSync(join(drover.dir, `r-${role}.json`), 'utf8')) as { token: string };
      const res = await call(drover.server, 'GET', `/v1/clusters/${cluster.id}/warnings`, { token });
      assert.equal(res.status, allowed ? 200 : 403, `${role}: ${res.text}`);
      if (!allowed) assert.match(res.text, /kubectl get events -n NAMESPACE/);
    }
  });

  for (const [role, { checks }] of Object.entries(matrix)) {
    it(`${role} allows exactly what it says`, async () => {
      const kubeconfig = kubeconfigs.get(role) ?? '';
      const ask = async ([verb, resource, where]: Check): Promise<boolean> => {
        const ns = where === 'in' ? ['-n', nsIn] : where === 'out' ? ['-n', nsOut] : [];
        const r = await kubectl(['auth', 'can-i', verb, resource, ...ns], { kubeconfig });
        return r.stdout.trim() === 'yes';
      };
      // The first expected "yes" shows the reconciler has written this role's RBAC.
      const first = checks.find((c) => c[3]);
      if (first) await eventually(`${role} reconciled`, async () => ((await ask(first)) ? true : undefined), 20_000);
      const got = await Promise.all(checks.map(async (c) => [c[0], c[1], c[2], await ask(c)] as Check));
      assert.deepEqual(got, checks);
    });
  }
});
