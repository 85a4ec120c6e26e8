/**
 * One object, read through the proxy as the user: its facts, status conditions,
 * related objects, events (live), actions, and the YAML view and editor (loaded on
 * demand). What the user may do is asked first (SelfSubjectAccessReview), so an
 * object or an action that is not theirs reads as such in words, never as a raw 403.
 * A Secret's values stay hidden until the user reveals them; nothing revealed is
 * ever logged or sent anywhere.
 */
import { useState } from 'preact/hooks';
import { Link, Show, Table, ago, useLoad } from '../components.tsx';
import { lazyComponent } from '../lazy.tsx';
import { canI, clusterBase, getJson, objectPath, type Kind } from './kube.ts';
import { useLiveTable } from './live-table.ts';
import { allNamespaces, explorePath } from './navigation.tsx';
import { ObjectActions } from './object-actions.tsx';
import { Related } from './related.tsx';
import { cellClass, cellText } from './resource-list.tsx';

export interface KubeObject {
  apiVersion?: string; kind?: string;
  metadata: { name: string; namespace?: string; uid: string; creationTimestamp?: string; labels?: Record<string, string>; resourceVersion?: string;
    ownerReferences?: Array<{ kind: string; name: string; uid: string }> };
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[]; [key: string]: unknown };
  data?: Record<string, string>;
  [key: string]: unknown;
}
interface Condition { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }

const YamlPanel = lazyComponent(async () => (await import('./yaml-editor.tsx')).YamlPanel, 'YAML editor');
const PodTools = lazyComponent(async () => (await import('./pod-tools.tsx')).PodTools, 'pod logs and terminal');

/** What the user may do to one object; `edit` is a patch (YAML apply, rollout restart), `scale` a patch of the scale subresource. */
export interface Rights { read: boolean; edit: boolean; scale: boolean; delete: boolean }

async function rightsOn(clusterId: string, kind: Kind, name: string, namespace: string | undefined): Promise<Rights> {
  const attrs = { group: kind.group, resource: kind.resource, name, ...(namespace === undefined ? {} : { namespace }) };
  const [read, edit, scale, remove] = await Promise.all([
    canI(clusterId, { ...attrs, verb: 'get' }),
    canI(clusterId, { ...attrs, verb: 'patch' }),
    canI(clusterId, { ...attrs, verb: 'patch', subresource: 'scale' }),
    canI(clusterId, { ...attrs, verb: 'delete' }),
  ]);
  return { read, edit, scale, delete: remove };
}

export function ResourcePage(props: { clusterId: string; kind: Kind; namespace: string | undefined; name: string; kinds: Kind[] }) {
  const { clusterId, kind, namespace, name } = props;
  const rights = useLoad(() => rightsOn(clusterId, kind, name, namespace), [clusterId, kind.key, namespace, name]);
  const listPath = explorePath(clusterId, namespace ?? allNamespaces, kind.key);
  const where = namespace === undefined ? '' : ` in namespace ${namespace}`;
  return (
    <div>
      <p><Link href={listPath}>← {kind.kind} list</Link></p>
      <h2>{kind.kind} {name}</h2>
      <Show load={rights} empty={(r) => !r.read} emptyText={`Nothing here for you: you may not read ${kind.kind} ${name}${where}. Ask a cluster or project owner for access.`}>
        {(r) => <ObjectView {...props} rights={r} listPath={listPath} />}
      </Show>
    </div>
  );
}

function ObjectView(props: { clusterId: string; kind: Kind; namespace: string | undefined; name: string; kinds: Kind[]; rights: Rights; listPath: string }) {
  const { clusterId, kind, namespace, name, rights, listPath } = props;
  const object = useLoad(() => getJson<KubeObject>(objectPath(clusterId, kind, name, namespace)), [clusterId, kind.key, namespace, name]);
  const [revealed, setRevealed] = useState(false);
  const isSecret = kind.key === 'secrets';
  return (
    <Show load={object}>
      {(o) => (
        <>
          <dl class="facts">
            {o.metadata.namespace !== undefined && <><dt>Namespace</dt><dd>{o.metadata.namespace}</dd></>}
            {/* A Node's phase is deprecated (always Running): its Ready condition below says more. */}
            {typeof o.status?.phase === 'string' && kind.key !== 'nodes' && <><dt>Status</dt><dd>{o.status.phase}</dd></>}
            {typeof o.spec?.nodeName === 'string' && <><dt>Node</dt><dd><Link href={explorePath(clusterId, allNamespaces, 'nodes', o.spec.nodeName)}>{o.spec.nodeName}</Link></dd></>}
            {typeof o.status?.podIP === 'string' && <><dt>Pod IP</dt><dd>{o.status.podIP}</dd></>}
            <dt>Created</dt><dd>{ago(o.metadata.creationTimestamp)}</dd>
            <dt>Labels</dt><dd>{Object.entries(o.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</dd>
            {(o.metadata.ownerReferences ?? []).length > 0 && <><dt>Owned by</dt><dd>{(o.metadata.ownerReferences ?? []).map((r) => `${r.kind} ${r.name}`).join(', ')}</dd></>}
          </dl>
          <ObjectActions clusterId={clusterId} kind={kind} object={o} rights={rights} listPath={listPath} onChanged={object.reload} />
          <Conditions object={o} />
          {isSecret && <SecretData object={o} revealed={revealed} onReveal={() => setRevealed(true)} />}
          <Related clusterId={clusterId} kind={kind} object={o} kinds={props.kinds} />
          {kind.key === 'pods' && <PodTools clusterId={clusterId} pod={o} />}
          <Events clusterId={clusterId} object={o} />
          <YamlPanel clusterId={clusterId} kind={kind} object={o} editable={rights.edit} secretHidden={isSecret && !revealed} onApplied={object.reload} />
        </>
      )}
    </Show>
  );
}

function Conditions(props: { object: KubeObject }) {
  const conditions = props.object.status?.conditions ?? [];
  if (conditions.length === 0) return null;
  return (
    <div class="card">
      <h3>Conditions</h3>
      <Table label="Conditions" head={['Type', 'Status', 'Reason', 'Message', 'Changed']}>
        {conditions.map((c) => <tr key={c.type}><td>{c.type}</td><td>{c.status}</td><td>{c.reason ?? ''}</td><td class="long">{c.message ?? ''}</td><td>{ago(c.lastTransitionTime)}</td></tr>)}
      </Table>
    </div>
  );
}

/** Keys are shown; values only once the user asks (decoded from base64 in the page, never logged). */
function SecretData(props: { object: KubeObject; revealed: boolean; onReveal: () => void }) {
  const data = props.object.data ?? {};
  const decode = (v: string): string => { try { return new TextDecoder().decode(Uint8Array.from(atob(v), (c) => c.charCodeAt(0))); } catch { return v; } };
  return (
    <div class="card">
      <h3>Data</h3>
      {Object.keys(data).length === 0 ? <p class="empty">No data.</p> : (
        <>
          <Table label="Secret data" head={['Key', 'Value']}>
            {Object.entries(data).map(([k, v]) => <tr key={k}><td>{k}</td><td>{props.revealed ? <code class="secret">{decode(v)}</code> : <span class="muted">hidden</span>}</td></tr>)}
          </Table>
          {!props.revealed && <button type="button" class="secondary" onClick={props.onReveal}>Reveal values</button>}
        </>
      )}
    </div>
  );
}

/** The object's events with kubectl's columns, live; "none you can see" when events are not the user's to list. */
function Events(props: { clusterId: string; object: KubeObject }) {
  const { metadata } = props.object;
  const allowed = useLoad(() => canI(props.clusterId, { verb: 'list', group: '', resource: 'events', ...(metadata.namespace ? { namespace: metadata.namespace } : {}) }), [metadata.uid]);
  return (
    <div class="card">
      <h3>Events</h3>
      <Show load={allowed} empty={(a) => !a} emptyText="You may not read events here.">
        {() => <EventRows clusterId={props.clusterId} object={props.object} />}
      </Show>
    </div>
  );
}

function EventRows(props: { clusterId: string; object: KubeObject }) {
  const { metadata } = props.object;
  const ns = metadata.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(metadata.namespace)}`;
  const table = useLiveTable([`${clusterBase(props.clusterId)}/api/v1${ns}/events?fieldSelector=${encodeURIComponent(`involvedObject.uid=${metadata.uid}`)}`]);
  if (table.loading) return <p class="muted" role="status">Loading…</p>;
  if (table.rows.length === 0) return <p class="empty">No recent events.</p>;
  const shown = table.columns.map((c, i) => [c, i] as const).filter(([c]) => c.priority === 0 && c.name !== 'Object');
  return (
    <Table label="Events" head={shown.map(([c]) => c.name)}>
      {table.rows.map((r) => <tr key={r.object.metadata.uid}>{shown.map(([c, i]) => <td key={c.name} class={cellClass(c)}>{cellText(r, i, c)}</td>)}</tr>)}
    </Table>
  );
}
