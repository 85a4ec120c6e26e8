/** Clusters: state and why, version, nodes, tunnel, last seen; admins register new ones or create custom ones Drover provisions. */
import { useState } from 'preact/hooks';
import { get, post } from '../api.ts';
import { Code, ErrorText, KubeconfigButtons, Link, Show, StateBadge, Table, ago, useAction, useLoad, value } from '../components.tsx';
import type { Cluster, CreatedCluster, User } from '../types.ts';
import { lazyComponent } from '../lazy.tsx';

const CreateCustomCluster = lazyComponent(async () => (await import('../provisioning/create-custom.tsx')).CreateCustomCluster, 'custom cluster form');

export function ClustersPage(props: { user: User }) {
  const clusters = useLoad(() => get<Cluster[]>('/v1/clusters'), [], 5000);
  const admin = props.user.globalRole === 'admin';
  return (
    <section>
      <h1>Clusters</h1>
      <Show load={clusters} empty={(list) => list.length === 0}
        emptyText={admin ? 'No clusters yet. Register one below.' : 'You are not a member of any cluster yet; ask an admin.'}>
        {(list) => (
          <Table label="Clusters" head={['Name', 'State', 'Kubernetes', 'Nodes', 'Tunnel', 'Last seen']}>
            {list.map((c) => (
              <tr key={c.id} data-cluster={c.name}>
                <td><Link href={`/clusters/${encodeURIComponent(c.id)}`}>{c.displayName || c.name}</Link><div class="muted small">{c.id}</div></td>
                <td><StateBadge state={c.state} />{c.stateReason && <div class="muted small">{c.stateReason}</div>}</td>
                <td>{c.kubernetesVersion ?? '—'}</td>
                <td>{c.nodeCount ?? '—'}</td>
                <td>{c.tunnel ?? '—'}</td>
                <td>{ago(c.lastSeenAt)}</td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
      {(clusters.data ?? []).length > 0 && (
        <div class="card">
          <h2>Kubeconfig for all your clusters</h2>
          <p>One file with a context per cluster you can use (and their direct ACE contexts); switch with <code>kubectl config use-context NAME</code>.
            Each cluster gets a new token you can revoke under API tokens. The CLI does the same with <code>drover kubeconfig --all</code>.</p>
          <KubeconfigButtons path="/v1/kubeconfig" file="drover-all.yaml" label="Download KubeConfig for all clusters" />
        </div>
      )}
      {admin && <RegisterCluster onCreated={clusters.reload} />}
      {admin && <CreateCustomCluster onCreated={clusters.reload} />}
    </section>
  );
}

function RegisterCluster(props: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedCluster | undefined>(undefined);
  const action = useAction();
  const submit = (e: Event): void => {
    e.preventDefault();
    action.run(async () => {
      setCreated(await post<CreatedCluster>('/v1/clusters', { name }));
      setName('');
      props.onCreated();
    });
  };
  return (
    <div class="card">
      <h2>Register a cluster</h2>
      <form onSubmit={submit} class="inline">
        <label>Name<input required pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?" maxLength={63} value={name} onInput={(e) => setName(value(e))}
          title="lower-case letters, digits and dashes" /></label>
        <button type="submit" disabled={action.busy}>Register</button>
      </form>
      <ErrorText error={action.error} />
      {created && (
        <div>
          <p>Run one of these where the cluster is reachable to start its agent (the token is a secret):</p>
          <Code label="kubectl command" text={created.registration.kubectlCommand} />
          <Code label="agent command" text={created.registration.agentCommand} />
        </div>
      )}
    </div>
  );
}
