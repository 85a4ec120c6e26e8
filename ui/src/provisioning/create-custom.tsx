/**
 * "Create a custom cluster" on the clusters page (admins): a name and a Kubernetes
 * version the server offers (`GET /v1/provisioning/versions`), then the node command
 * to run on each machine. Its own chunk: only admins who open the clusters page load it.
 */
import { useState } from 'preact/hooks';
import { get, post } from '../api.ts';
import { ErrorText, Link, Show, useAction, useLoad, value } from '../components.tsx';
import type { CreatedCustomCluster, KubernetesVersions } from '../types.ts';
import { NodeCommand } from './node-command.tsx';

export function CreateCustomCluster(props: { onCreated: () => void }) {
  const versions = useLoad(() => get<KubernetesVersions>('/v1/provisioning/versions'), []);
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [created, setCreated] = useState<CreatedCustomCluster | undefined>(undefined);
  const action = useAction();
  const submit = (e: Event): void => {
    e.preventDefault();
    const offered = versions.data?.versions ?? [];
    action.run(async () => {
      setCreated(await post<CreatedCustomCluster>('/v1/provisioning/clusters', { name, kubernetesVersion: version || (offered[offered.length - 1] ?? '') }));
      setName('');
      props.onCreated();
    });
  };
  return (
    <div class="card">
      <h2>Create a custom cluster</h2>
      <p>Drover builds Kubernetes on machines you register: create the cluster, then run the node command on each machine.
        Its etcd is snapshotted every 12 hours, the newest 5 kept; change that on the cluster's page.</p>
      <Show load={versions} empty={(v) => v.versions.length === 0}
        emptyText="This server has no Kubernetes binaries to provision with: start it with --kubernetes-binaries DIR (docs/provisioning.md says how to fill it).">
        {(v) => (
          <form onSubmit={submit} class="inline" aria-label="Create a custom cluster">
            <label>Name<input required pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?" maxLength={63} value={name} onInput={(e) => setName(value(e))}
              title="lower-case letters, digits and dashes" /></label>
            <label>Kubernetes version
              <select value={version || v.versions[v.versions.length - 1]} onChange={(e) => setVersion(value(e))}>
                {[...v.versions].reverse().map((ver) => <option key={ver} value={ver}>{ver}</option>)}
              </select>
            </label>
            <button type="submit" disabled={action.busy}>Create</button>
          </form>
        )}
      </Show>
      <ErrorText error={action.error} />
      {created && (
        <div>
          <p>Cluster <Link href={`/clusters/${encodeURIComponent(created.cluster.id)}`}>{created.cluster.name}</Link> is provisioning.
            Its page follows each node's steps.</p>
          <NodeCommand registration={created.registration} />
        </div>
      )}
    </div>
  );
}
