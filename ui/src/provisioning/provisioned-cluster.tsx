/**
 * A provisioned cluster on its page (admins: every route behind it is admin-only,
 * so the cluster page offers it to admins alone and no click ends in a 403): each
 * node's steps as its node agent reports them (running, done, failed with the
 * reason), polled every 2 s while the page is open, a node whose agent has gone
 * silent marked unreachable; the Kubernetes upgrade (upgrade.tsx); the node command for more
 * machines; and the etcd snapshots: list, take one, restore one (after a
 * confirmation that says what a restore undoes), and the schedule.
 */
import { useState } from 'preact/hooks';
import { api, get, post, q } from '../api.ts';
import { ErrorText, Notice, Show, StateBadge, Table, ago, useAction, useLoad, value } from '../components.tsx';
import { formatDuration, parseDuration } from '../../../src/durations/index.ts';
import type { Cluster, EtcdSnapshot, ProvisionedNode, ProvisionedNodes, RestoreAsked, SnapshotSchedule } from '../types.ts';
import { NodeCommand } from './node-command.tsx';
import { Upgrade } from './upgrade.tsx';
import { nodeSilentLimitSeconds, nodeUnreachable } from '../../../src/agent-protocol/index.ts';

export function ProvisionedCluster(props: { cluster: Cluster }) {
  const path = `/v1/clusters/${q(props.cluster.id)}`;
  const nodes = useLoad(() => get<ProvisionedNodes>(`${path}/nodes`), [path], 2000);
  return (
    <Show load={nodes}>
      {(view) => (
        <>
          <NodesProgress view={view} cluster={props.cluster} />
          <Upgrade cluster={props.cluster} current={view.kubernetesVersion} upgrade={view.upgrade} onAsked={nodes.reload} />
          <Snapshots cluster={props.cluster} schedule={view.snapshotSchedule} etcdNodes={view.nodes.filter((n) => n.roles.includes('etcd')).length} />
        </>
      )}
    </Show>
  );
}

function NodesProgress(props: { view: ProvisionedNodes; cluster: Cluster }) {
  const [adding, setAdding] = useState(props.view.nodes.length === 0);
  const { view } = props;
  return (
    <div class="card">
      <h2>Provisioning</h2>
      <p>Built by Drover at Kubernetes {view.kubernetesVersion ?? '?'}; the cluster is <StateBadge state={props.cluster.state} />
        {props.cluster.state === 'provisioning' ? ' until its API answers through a control-plane node\'s tunnel.' : '.'}</p>
      {view.nodes.length === 0 && <p class="empty">No node has registered yet: run the node command on a machine.</p>}
      {view.nodes.map((node) => <NodeSteps key={node.name} node={node} />)}
      {view.registration && (adding
        ? <><h3>Add a machine</h3><NodeCommand registration={view.registration} /></>
        : <button type="button" class="secondary" onClick={() => setAdding(true)}>Show the node command</button>)}
    </div>
  );
}

function NodeSteps(props: { node: ProvisionedNode }) {
  const { node } = props;
  const steps = node.progress.steps;
  const done = steps.filter((s) => s.state === 'done').length;
  const failed = steps.find((s) => s.state === 'failed');
  return (
    <section class="node" aria-label={`Node ${node.name}`} data-node={node.name}>
      <h3>{node.name} <span class="muted small">{node.roles.join(', ')} · {node.address}</span></h3>
      {nodeUnreachable(node) && (
        <p data-unreachable><span class="badge badge-unavailable">Unreachable</span> No word from its node agent for {node.silentSeconds} s
          (it asks for its plan every 10 s; more than {nodeSilentLimitSeconds} s of silence means the machine or its node agent is down, or cannot reach the server).
          The steps below are its last report, not what runs there now.</p>
      )}
      <p class="muted small">{node.progress.total === undefined ? 'waiting for its plan' : `${done} of ${node.progress.total} steps done`} · reported {ago(node.updatedAt)}</p>
      {failed && <p class="error" role="alert">Step {failed.step} failed on node {node.name}: {failed.message ?? 'no reason given'}</p>}
      {steps.length > 0 && (
        <Table label={`Steps of node ${node.name}`} head={['Step', 'State', 'Since', 'Message']}>
          {steps.map((s) => (
            <tr key={s.step} data-step={s.step} data-state={s.state}>
              <td>{s.step}</td><td><span class={`step step-${s.state}`}>{s.state}</span></td><td>{ago(s.at)}</td>
              <td class="long">{s.message ?? ''}</td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

function Snapshots(props: { cluster: Cluster; schedule: SnapshotSchedule | undefined; etcdNodes: number }) {
  const path = `/v1/clusters/${q(props.cluster.id)}/snapshots`;
  const list = useLoad(() => get<EtcdSnapshot[]>(path), [path], 10000);
  const [restoring, setRestoring] = useState<EtcdSnapshot | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const action = useAction();
  const take = (): void => action.run(async () => {
    setNotice(undefined);
    const taken = await post<EtcdSnapshot>(path);
    setNotice(`Snapshot ${taken.id} taken from node ${taken.node} (${size(taken.size)}).`);
    list.reload();
  });
  const restore = (snapshot: EtcdSnapshot): void => action.run(async () => {
    const asked = await post<RestoreAsked>(`${path}/${q(snapshot.id)}/restore`);
    setRestoring(undefined);
    setNotice(`Restore ${asked.restore.id} asked: ${asked.etcdNodes.join(', ')} restore snapshot ${snapshot.id}, then every node restarts its processes. The steps above follow it.`);
  });
  return (
    <div class="card">
      <h2>etcd snapshots</h2>
      <ScheduleForm cluster={props.cluster} schedule={props.schedule} />
      <div class="actions">
        <button type="button" onClick={take} disabled={action.busy || props.cluster.state !== 'active'}>Take a snapshot now</button>
        {props.cluster.state !== 'active' && <span class="muted small">A snapshot is taken through a connected node: the cluster must be active.</span>}
      </div>
      <Notice text={notice} />
      <Show load={list} empty={(l) => l.length === 0} emptyText="No snapshots yet.">
        {(l) => (
          <Table label="etcd snapshots" head={['Id', 'Taken', 'Node', 'Size', 'By', '']}>
            {[...l].reverse().map((s) => (
              <tr key={s.id} data-snapshot={s.id}>
                <td>{s.id}</td><td title={s.createdAt}>{ago(s.createdAt)}</td><td>{s.node}</td><td>{size(s.size)}</td><td>{s.scheduled ? 'schedule' : 'admin'}</td>
                <td><button type="button" class="danger small" onClick={() => setRestoring(s)} aria-label={`Restore snapshot ${s.id}`}>Restore…</button></td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
      {restoring && (
        <div class="confirm" role="group" aria-label="Confirm restore">
          <p>Restore <strong>{props.cluster.name}</strong> to snapshot <strong>{restoring.id}</strong>, taken {ago(restoring.createdAt)} ({restoring.createdAt})?
            The cluster goes back to that moment: every object created after the snapshot is gone, and every change made since is undone.
            {` ${props.etcdNodes} etcd node(s)`} restore it and every node restarts its processes, so the cluster is unavailable for a while. This cannot be undone from here.</p>
          <div class="actions">
            <button type="button" class="danger" onClick={() => restore(restoring)} disabled={action.busy}>Restore to {restoring.id}</button>
            <button type="button" class="secondary" onClick={() => setRestoring(undefined)}>Cancel</button>
          </div>
        </div>
      )}
      <ErrorText error={action.error} />
    </div>
  );
}

function ScheduleForm(props: { cluster: Cluster; schedule: SnapshotSchedule | undefined }) {
  const [every, setEvery] = useState(props.schedule ? formatDuration(props.schedule.everySeconds) : '12h');
  const [keep, setKeep] = useState(String(props.schedule?.retention ?? 5));
  const [editing, setEditing] = useState(false);
  const action = useAction();
  const save = (everySeconds: number, retention?: number): void => action.run(async () => {
    await api('PUT', `/v1/clusters/${q(props.cluster.id)}/snapshot-schedule`, { everySeconds, ...(retention === undefined ? {} : { retention }) });
    setEditing(false);
  });
  const submit = (e: Event): void => {
    e.preventDefault();
    const seconds = parseDuration(every);
    if (seconds === undefined || seconds < 10) {
      action.setError(`"${every}" is not a schedule: give a duration of at least 10s, such as 6h or 1h30m`);
      return;
    }
    save(seconds, Number(keep));
  };
  const s = props.schedule;
  return (
    <>
      <p>{s ? `Scheduled: a snapshot every ${formatDuration(s.everySeconds)}, the newest ${s.retention} scheduled ones kept (snapshots an admin took are never pruned).` : 'No snapshot schedule.'}
        {!editing && <> <button type="button" class="secondary small" onClick={() => setEditing(true)}>Change the schedule</button></>}
        {!editing && s && <> <button type="button" class="secondary small" onClick={() => save(0)} disabled={action.busy}>Turn off</button></>}</p>
      {editing && (
        <form class="inline" onSubmit={submit} aria-label="Snapshot schedule">
          <label>Every<input required value={every} onInput={(e) => setEvery(value(e))} title="a duration such as 12h, 6h or 1h30m" /></label>
          <label>Keep<input type="number" required min={1} max={1000} value={keep} onInput={(e) => setKeep(value(e))} /></label>
          <button type="submit" disabled={action.busy}>Save the schedule</button>
          <button type="button" class="secondary" onClick={() => setEditing(false)}>Cancel</button>
        </form>
      )}
      <ErrorText error={action.error} />
    </>
  );
}

function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
