/**
 * What a person does to one object, each as kubectl does it: scale (the `scale`
 * subresource), rollout restart (a `restartedAt` annotation on the pod template,
 * which starts a new rollout), and delete after a confirmation naming the object.
 * Only what the user's rights allow is offered (asked by the resource page).
 */
import { useState } from 'preact/hooks';
import { api, request } from '../api.ts';
import { ErrorText, useAction, value } from '../components.tsx';
import { navigate } from '../router.ts';
import { objectPath, type Kind } from './kube.ts';
import type { KubeObject, Rights } from './resource-page.tsx';

const scalable = new Set(['deployments.apps', 'statefulsets.apps', 'replicasets.apps']);
const restartable = new Set(['deployments.apps', 'statefulsets.apps', 'daemonsets.apps']);

async function mergePatch(path: string, patch: unknown): Promise<void> {
  await request('PATCH', path, { headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify(patch) });
}

export function ObjectActions(props: { clusterId: string; kind: Kind; object: KubeObject; rights: Rights; listPath: string; onChanged: () => void }) {
  const { object, kind, rights } = props;
  const path = objectPath(props.clusterId, kind, object.metadata.name, object.metadata.namespace);
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const replicas = typeof object.spec?.replicas === 'number' ? object.spec.replicas : 0;
  const [wanted, setWanted] = useState(String(replicas));
  const done = (text: string): void => { setNotice(text); props.onChanged(); };

  const scale = (e: Event): void => {
    e.preventDefault();
    action.run(async () => {
      await mergePatch(`${path}/scale`, { spec: { replicas: Number(wanted) } });
      done(`Scaled to ${wanted}.`);
    });
  };
  const restart = (): void => action.run(async () => {
    await mergePatch(path, { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } });
    done('Restarted: a new rollout has begun.');
  });
  const remove = (): void => action.run(async () => {
    await api('DELETE', path);
    navigate(props.listPath);
  });

  const canScale = rights.scale && scalable.has(kind.key);
  const canRestart = rights.edit && restartable.has(kind.key);
  const canDelete = rights.delete && kind.verbs.includes('delete');
  if (!canScale && !canRestart && !canDelete) return null;
  return (
    <div class="card">
      <div class="actions">
        {canScale && (
          <form class="inline" onSubmit={scale} aria-label="Scale">
            <label>Replicas<input type="number" min={0} max={1000} required value={wanted} onInput={(e) => setWanted(value(e))} /></label>
            <button type="submit" disabled={action.busy}>Scale</button>
          </form>
        )}
        {canRestart && <button type="button" class="secondary" onClick={restart} disabled={action.busy}>Rollout restart</button>}
        {canDelete && !confirming && <button type="button" class="danger" onClick={() => setConfirming(true)}>Delete…</button>}
      </div>
      {confirming && (
        <div class="confirm" role="group" aria-label="Confirm delete">
          <p>Delete {kind.kind} <strong>{object.metadata.name}</strong>{object.metadata.namespace ? ` in namespace ${object.metadata.namespace}` : ''}? This cannot be undone.</p>
          <div class="actions">
            <button type="button" class="danger" onClick={remove} disabled={action.busy}>Delete {object.metadata.name}</button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>Cancel</button>
          </div>
        </div>
      )}
      <ErrorText error={action.error} />
      {notice !== undefined && <p class="notice" role="status">{notice}</p>}
    </div>
  );
}
