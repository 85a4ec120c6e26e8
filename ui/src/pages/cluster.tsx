/** One cluster: summary, nodes and capacity, warning events, kubeconfig, registration (or a provisioned cluster's nodes and snapshots), members and projects. */
import { useState } from 'preact/hooks';
import { ApiError, get, q } from '../api.ts';
import { Code, KubeconfigButtons, Link, Show, StateBadge, Table, ago, useLoad } from '../components.tsx';
import type { Cluster, KubeList, KubeNode, ProvisionedNodes, Registration, User, ClusterWarning } from '../types.ts';
import { MembersSection, ProjectsSection } from './members.tsx';
import { KubectlConsole } from './kubectl-console.tsx';
import { canI } from '../explorer/kube.ts';
import { lazyComponent } from '../lazy.tsx';

const Provisioned = lazyComponent(async () => (await import('../provisioning/provisioned-cluster.tsx')).ProvisionedCluster, 'provisioning view');

export function ClusterPage(props: { id: string; user: User }) {
  const cluster = useLoad(() => get<Cluster>(`/v1/clusters/${q(props.id)}`), [props.id], 5000);
  const admin = props.user.globalRole === 'admin';
  // Only admins may read a cluster's nodes and snapshots (the routes are admin-only); asked once, the view then follows itself.
  const provisioned = useLoad(() => (admin ? get<ProvisionedNodes>(`/v1/clusters/${q(props.id)}/nodes`).then((v) => v.provisioned) : Promise.resolve(false)), [props.id, admin]);
  return (
    <section>
      <p><Link href="/clusters">← Clusters</Link></p>
      <Show load={cluster}>
        {(c) => (
          <>
            <h1>{c.displayName || c.name} <StateBadge state={c.state} /></h1>
            {c.stateReason && <p class="muted">{c.stateReason}</p>}
            <p class="actions"><Link class="button" href={`/clusters/${encodeURIComponent(c.id)}/explore`}>Explore the cluster</Link></p>
            <dl class="facts">
              <dt>Id</dt><dd>{c.id}</dd>
              <dt>Kubernetes</dt><dd>{c.kubernetesVersion ?? '—'}</dd>
              <dt>Nodes</dt><dd>{c.nodeCount ?? '—'}</dd>
              <dt>Capacity</dt><dd>{c.capacity ? `${c.capacity.cpu} CPU, ${c.capacity.memory} memory, ${c.capacity.pods} pods` : '—'}</dd>
              <dt>Tunnel</dt><dd>{c.tunnel ?? '—'}</dd>
              <dt>Last seen</dt><dd>{ago(c.lastSeenAt)}</dd>
            </dl>
            <KubeconfigSection cluster={c} />
            {c.state === 'active' && <KubectlConsole clusterId={c.id} />}
            {admin && provisioned.data === true && <Provisioned cluster={c} />}
            {admin && provisioned.data === false && <RegistrationSection cluster={c} />}
            <NodesSection cluster={c} />
            <WarningsSection cluster={c} />
            <MembersSection cluster={c} user={props.user} />
            <ProjectsSection cluster={c} user={props.user} />
          </>
        )}
      </Show>
    </section>
  );
}

function KubeconfigSection(props: { cluster: Cluster }) {
  return (
    <div class="card">
      <h2>Kubeconfig</h2>
      <p>A kubeconfig for kubectl through Drover. Each download holds a new token you can revoke under API tokens.</p>
      <KubeconfigButtons path={`/v1/clusters/${q(props.cluster.id)}/kubeconfig`} file={`${props.cluster.name}.yaml`} />
    </div>
  );
}

function RegistrationSection(props: { cluster: Cluster }) {
  const [shown, setShown] = useState(false);
  const reg = useLoad(() => (shown ? get<Registration>(`/v1/clusters/${q(props.cluster.id)}/registration`) : Promise.resolve(undefined)), [shown, props.cluster.id]);
  return (
    <div class="card">
      <h2>Registration</h2>
      {!shown ? <button type="button" class="secondary" onClick={() => setShown(true)}>Show the registration command</button> : (
        <Show load={reg}>
          {(r) => r ? (
            <>
              <p>Run on a machine that reaches the cluster (the token is a secret):</p>
              <Code label="registration command" text={r.kubectlCommand} />
              <Code label="agent command" text={r.agentCommand} />
            </>
          ) : null}
        </Show>
      )}
    </div>
  );
}

function ready(node: KubeNode): string {
  const c = node.status?.conditions?.find((x) => x.type === 'Ready');
  return c === undefined ? 'Unknown' : c.status === 'True' ? 'Ready' : 'NotReady';
}

function NodesSection(props: { cluster: Cluster }) {
  // Asked first, so a user without node rights reads a sentence, not a 403; and only of an active cluster, which can answer.
  const live = props.cluster.state === 'active';
  const nodes = useLoad(async (): Promise<KubeList<KubeNode> | 'not active' | 'not yours'> => {
    if (!live) return 'not active';
    return (await canI(props.cluster.id, { verb: 'list', group: '', resource: 'nodes' })) ? get<KubeList<KubeNode>>(`/k8s/clusters/${q(props.cluster.id)}/api/v1/nodes`) : 'not yours';
  }, [props.cluster.id, props.cluster.state]);
  const emptyText = nodes.data === 'not active' ? 'The cluster\'s nodes show once it is active.'
    : nodes.data === 'not yours' ? 'Your role does not show this cluster\'s nodes; the explorer shows what you can see.' : 'The cluster reports no nodes.';
  return (
    <div class="card">
      <h2>Nodes</h2>
      <Show load={nodes} empty={(l) => typeof l === 'string' || l.items.length === 0} emptyText={emptyText}>
        {(l) => typeof l !== 'string' && (
          <Table label="Nodes" head={['Name', 'Status', 'Kubelet', 'CPU', 'Memory', 'Pods']}>
            {l.items.map((n) => (
              <tr key={n.metadata.name}>
                <td>{n.metadata.name}</td><td>{ready(n)}</td><td>{n.status?.nodeInfo?.kubeletVersion ?? '—'}</td>
                <td>{n.status?.capacity?.cpu ?? '—'}</td><td>{n.status?.capacity?.memory ?? '—'}</td><td>{n.status?.capacity?.pods ?? '—'}</td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
    </div>
  );
}

function WarningsSection(props: { cluster: Cluster }) {
  // The warnings span every namespace: the server answers only roles that may list events in all of them (403 otherwise).
  const warnings = useLoad(async (): Promise<ClusterWarning[] | 'not yours'> => {
    try {
      return await get<ClusterWarning[]>(`/v1/clusters/${q(props.cluster.id)}/warnings`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) return 'not yours';
      throw error;
    }
  }, [props.cluster.id], 15000);
  const emptyText = warnings.data === 'not yours' ? 'The cluster\'s warnings span every namespace, and your roles cover only some; the explorer shows your namespaces\' events.' : 'No warning events.';
  return (
    <div class="card">
      <h2>Recent warnings</h2>
      <Show load={warnings} empty={(l) => typeof l === 'string' || l.length === 0} emptyText={emptyText}>
        {(l) => typeof l !== 'string' && (
          <Table label="Warning events" head={['Object', 'Reason', 'Message', 'Count', 'Last seen']}>
            {l.map((w, i) => (
              <tr key={`${w.object}-${i}`}><td>{w.object}</td><td>{w.reason}</td><td class="long">{w.message}</td><td>{w.count}</td><td>{ago(w.lastSeen)}</td></tr>
            ))}
          </Table>
        )}
      </Show>
    </div>
  );
}
