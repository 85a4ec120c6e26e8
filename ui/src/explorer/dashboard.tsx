/**
 * The explorer's home, as Rancher's cluster dashboard: allocatable CPU, memory and
 * pods against what running pods request, the nodes' conditions, and recent warning
 * events (live). Each part is read as the user and shown only if they may list what
 * it needs; otherwise it says so.
 */
import { Show, Table, useLoad } from '../components.tsx';
import { canI, clusterBase, getJson } from './kube.ts';
import { useLiveTable } from './live-table.ts';
import { cellClass, cellText } from './resource-list.tsx';

interface Node { metadata: { name: string }; status?: { allocatable?: Record<string, string>; conditions?: Array<{ type: string; status: string; message?: string }> } }
interface Pod {
  spec?: { nodeName?: string; containers?: Array<{ resources?: { requests?: Record<string, string> } }> };
  status?: { phase?: string };
}

const suffixes: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity (`500m`, `16Gi`, `1e3`) as a number of base units. */
export function parseQuantity(text: string | undefined): number {
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec((text ?? '').trim());
  if (!match) return 0;
  return Number(match[1]) * (suffixes[match[2] ?? ''] ?? 1);
}

interface Usage { allocatable: { cpu: number; memory: number; pods: number }; requested: { cpu: number; memory: number; pods: number } | undefined }

async function usage(clusterId: string): Promise<{ nodes: Node[]; usage: Usage } | 'not yours'> {
  if (!(await canI(clusterId, { verb: 'list', group: '', resource: 'nodes' }))) return 'not yours';
  const nodes = (await getJson<{ items: Node[] }>(`${clusterBase(clusterId)}/api/v1/nodes`)).items;
  const sum = (key: string): number => nodes.reduce((n, node) => n + parseQuantity(node.status?.allocatable?.[key]), 0);
  const allocatable = { cpu: sum('cpu'), memory: sum('memory'), pods: sum('pods') };
  if (!(await canI(clusterId, { verb: 'list', group: '', resource: 'pods' }))) return { nodes, usage: { allocatable, requested: undefined } };
  // As the scheduler counts: pods bound to a node and not finished.
  const pods = (await getJson<{ items: Pod[] }>(`${clusterBase(clusterId)}/api/v1/pods`)).items
    .filter((p) => p.spec?.nodeName && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const requests = (key: string): number => pods.reduce((n, p) => n + (p.spec?.containers ?? []).reduce((m, c) => m + parseQuantity(c.resources?.requests?.[key]), 0), 0);
  return { nodes, usage: { allocatable, requested: { cpu: requests('cpu'), memory: requests('memory'), pods: pods.length } } };
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
const cores = (n: number): string => `${Number(n.toFixed(2))} cores`;

function Gauge(props: { label: string; used: number | undefined; total: number; format: (n: number) => string }) {
  const percent = props.used === undefined || props.total === 0 ? undefined : Math.round((100 * props.used) / props.total);
  return (
    <div class="gauge">
      <h3>{props.label}</h3>
      <meter min={0} max={props.total} value={props.used ?? 0} high={props.total * 0.8} aria-label={`${props.label} requested`} />
      <p>{props.used === undefined ? `${props.format(props.total)} allocatable; requests are not yours to see` : `${props.format(props.used)} of ${props.format(props.total)} requested (${percent ?? 0}%)`}</p>
    </div>
  );
}

export function Dashboard(props: { clusterId: string }) {
  const data = useLoad(() => usage(props.clusterId), [props.clusterId], 30000);
  const events = useLoad(() => canI(props.clusterId, { verb: 'list', group: '', resource: 'events' }), [props.clusterId]);
  return (
    <div>
      <h2>Cluster dashboard</h2>
      <Show load={data} empty={(d) => d === 'not yours'} emptyText="Your role does not show this cluster's nodes; pick a kind on the left to see what you can.">
        {(d) => d !== 'not yours' && (
          <>
            <div class="card gauges">
              <Gauge label="CPU" used={d.usage.requested?.cpu} total={d.usage.allocatable.cpu} format={cores} />
              <Gauge label="Memory" used={d.usage.requested?.memory} total={d.usage.allocatable.memory} format={gib} />
              <Gauge label="Pods" used={d.usage.requested?.pods} total={d.usage.allocatable.pods} format={(n) => String(n)} />
            </div>
            <div class="card">
              <h3>Node conditions</h3>
              <Table label="Node conditions" head={['Node', 'Ready', 'Problems']}>
                {d.nodes.map((n) => {
                  const conditions = n.status?.conditions ?? [];
                  const ready = conditions.find((c) => c.type === 'Ready')?.status === 'True';
                  const problems = conditions.filter((c) => c.type !== 'Ready' && c.status === 'True').map((c) => c.type);
                  return <tr key={n.metadata.name}><td>{n.metadata.name}</td><td>{ready ? 'Ready' : 'Not ready'}</td><td>{problems.join(', ') || 'none'}</td></tr>;
                })}
              </Table>
            </div>
          </>
        )}
      </Show>
      <div class="card">
        <h3>Recent warnings</h3>
        <Show load={events} empty={(allowed) => !allowed} emptyText="Your role does not show the cluster's events.">
          {() => <Warnings clusterId={props.clusterId} />}
        </Show>
      </div>
    </div>
  );
}

function Warnings(props: { clusterId: string }) {
  const table = useLiveTable([`${clusterBase(props.clusterId)}/api/v1/events?fieldSelector=${encodeURIComponent('type=Warning')}`]);
  if (table.loading) return <p class="muted" role="status">Loading…</p>;
  if (table.rows.length === 0) return <p class="empty">No warning events.</p>;
  const shown = table.columns.map((c, i) => [c, i] as const).filter(([c]) => c.priority === 0 && c.name !== 'Type');
  return (
    <Table label="Warning events" head={['Namespace', ...shown.map(([c]) => c.name)]}>
      {table.rows.map((r) => <tr key={r.object.metadata.uid}><td>{r.object.metadata.namespace}</td>{shown.map(([c, i]) => <td key={c.name} class={cellClass(c)}>{cellText(r, i, c)}</td>)}</tr>)}
    </Table>
  );
}
