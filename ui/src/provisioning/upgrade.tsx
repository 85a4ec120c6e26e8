/**
 * A provisioned cluster's Kubernetes upgrade on its page (admins, like the rest of
 * the page): "Upgrade Kubernetes" offers only the versions the server has binaries
 * for that are newer than the cluster's (the server refuses a downgrade; the order
 * is `compareVersions`, the server's own), asks for a confirmation that says the
 * order and that there is no way back, and shows the server's refusal in its words
 * (409 while another upgrade runs or failed, and so on). The last upgrade's progress
 * follows, node by node, from the page's 2 s poll of `GET /v1/clusters/:id/nodes`;
 * a failed one offers "Resume", which asks for the same version again, and the
 * server resumes it at the node that failed.
 */
import { useState } from 'preact/hooks';
import { get, post, q } from '../api.ts';
import { ErrorText, Show, Table, useAction, useLoad, value } from '../components.tsx';
import { compareVersions, upgradeStep } from '../../../src/agent-protocol/index.ts';
import type { Cluster, ClusterUpgrade, KubernetesVersions } from '../types.ts';

export function Upgrade(props: { cluster: Cluster; current: string | undefined; upgrade: ClusterUpgrade | undefined; onAsked: () => void }) {
  const action = useAction();
  const ask = (version: string): void => action.run(async () => {
    await post<ClusterUpgrade>(`/v1/clusters/${q(props.cluster.id)}/upgrade`, { kubernetesVersion: version });
    props.onAsked();
  });
  const { upgrade } = props;
  return (
    <div class="card">
      <h2>Kubernetes upgrade</h2>
      {upgrade && <UpgradeProgress upgrade={upgrade} />}
      {upgrade?.state === 'failed' && (
        <div class="actions">
          <button type="button" onClick={() => ask(upgrade.to)} disabled={action.busy}>Resume the upgrade to {upgrade.to}</button>
          <span class="muted small">Fix the cause first: the upgrade starts again at node {failedNode(upgrade) ?? 'that failed'}; nodes done stay done.</span>
        </div>
      )}
      {upgrade?.state !== 'running' && upgrade?.state !== 'failed' && props.current && (
        <UpgradeForm cluster={props.cluster} current={props.current} busy={action.busy} onUpgrade={ask} />
      )}
      <ErrorText error={action.error} />
    </div>
  );
}

function failedNode(upgrade: ClusterUpgrade): string | undefined {
  return upgrade.nodes.find((n) => n.state === 'failed')?.name;
}

function UpgradeForm(props: { cluster: Cluster; current: string; busy: boolean; onUpgrade: (version: string) => void }) {
  const versions = useLoad(() => get<KubernetesVersions>('/v1/provisioning/versions'), []);
  const [picked, setPicked] = useState('');
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  return (
    <Show load={versions} empty={(v) => newer(v.versions, props.current).length === 0}
      emptyText={`No newer Kubernetes version to upgrade to: this server has binaries for none newer than ${props.current} (docs/provisioning.md, "The binaries directory", says how to add one).`}>
      {(v) => {
        const offered = newer(v.versions, props.current);
        const version = offered.includes(picked) ? picked : (offered[0] ?? '');
        return (
          <>
            <form class="inline" aria-label="Upgrade Kubernetes" onSubmit={(e) => { e.preventDefault(); setConfirming(version); }}>
              <label>Upgrade to
                <select value={version} onChange={(e) => setPicked(value(e))}>
                  {offered.map((ver) => <option key={ver} value={ver}>{ver}</option>)}
                </select>
              </label>
              <button type="submit" disabled={props.busy || confirming !== undefined}>Upgrade Kubernetes…</button>
            </form>
            {props.cluster.state !== 'active' && <p class="muted small">The server starts an upgrade of an active cluster only: it needs a healthy cluster to start from.</p>}
            {confirming !== undefined && (
              <div class="confirm" role="group" aria-label="Confirm upgrade">
                <p>Upgrade <strong>{props.cluster.name}</strong> from Kubernetes {props.current} to <strong>{confirming}</strong>?
                  Drover upgrades one node at a time: the etcd nodes first, then the control-plane nodes, then the workers, each checked healthy before the next starts;
                  it stops at the first node that fails, with the reason, and can then be resumed there.
                  Downgrades are impossible: once the upgrade starts, the cluster cannot go back to {props.current} (only an etcd snapshot taken before it, restored onto a new cluster at {props.current}, can).</p>
                <div class="actions">
                  <button type="button" onClick={() => { setConfirming(undefined); props.onUpgrade(confirming); }} disabled={props.busy}>Upgrade to {confirming}</button>
                  <button type="button" class="secondary" onClick={() => setConfirming(undefined)}>Cancel</button>
                </div>
              </div>
            )}
          </>
        );
      }}
    </Show>
  );
}

/** The offered versions the cluster can upgrade to (newer, at most one minor release on), newest first. */
function newer(versions: string[], current: string): string[] {
  return versions.filter((v) => upgradeStep(current, v) === 'upgrade').sort((a, b) => compareVersions(b, a));
}

function UpgradeProgress(props: { upgrade: ClusterUpgrade }) {
  const { upgrade } = props;
  return (
    <section aria-label="Upgrade progress" data-upgrade-state={upgrade.state}>
      <p>Upgrade {upgrade.from} → {upgrade.to}: <span class={`badge badge-${upgradeBadge[upgrade.state]}`}>{upgrade.state}</span> <span class="muted small">{upgradeStates[upgrade.state]}</span></p>
      {upgrade.failure && <p class="error" role="alert">The upgrade stopped at the first failure: {upgrade.failure}</p>}
      <Table label="Nodes of the upgrade" head={['Node', 'Roles', 'State', 'Took', 'Message', 'Steps']}>
        {upgrade.nodes.map((n) => (
          <tr key={n.name} data-node={n.name} data-state={n.state}>
            <td>{n.name}</td><td>{n.roles.join(', ')}</td><td><span class={`step step-${n.state}`}>{n.state}</span></td>
            <td>{n.startedAt && n.doneAt ? `${seconds(Date.parse(n.doneAt) - Date.parse(n.startedAt))} s` : ''}</td>
            <td class="long">{n.message ?? ''}</td>
            <td class="long">{(n.steps ?? []).map((s) => `${s.step} ${s.seconds.toFixed(1)} s`).join(', ')}</td>
          </tr>
        ))}
      </Table>
    </section>
  );
}

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

/** The badge colours the page has for clusters: running as provisioning, failed as unavailable, done as active. */
const upgradeBadge: Record<ClusterUpgrade['state'], string> = { running: 'provisioning', failed: 'unavailable', done: 'active' };
const upgradeStates: Record<ClusterUpgrade['state'], string> = {
  running: '(running: one node at a time, etcd nodes first, then control plane, then workers)',
  failed: '(stopped at its first failure: nodes done stay done)',
  done: '(done: every node runs the new version)',
};
