/**
 * One kind's list with kubectl's columns (the server's Table format), live through
 * watches, with a text filter and sortable columns. Before listing it asks the
 * cluster what the user may list (SelfSubjectAccessReview): across all namespaces
 * if allowed, else each visible namespace that allows it, else it says in words
 * that there is nothing here for them.
 */
import { useState } from 'preact/hooks';
import { Link, Show, ago, useLoad, value } from '../components.tsx';
import { canI, collectionPath, type ColumnDefinition, type Kind, type TableRow, type VisibleNamespace } from './kube.ts';
import { useLiveTable } from './live-table.ts';
import { allNamespaces, explorePath, kindLabel, kindSingular } from './navigation.tsx';

/** The collections to list: one across the cluster when allowed, else one per namespace that allows it. */
async function listablePaths(clusterId: string, kind: Kind, namespace: string, namespaces: VisibleNamespace[]): Promise<string[]> {
  const attrs = { verb: 'list', group: kind.group, resource: kind.resource };
  if (!kind.namespaced || namespace === allNamespaces) {
    if (await canI(clusterId, attrs)) return [collectionPath(clusterId, kind)];
    if (!kind.namespaced) return [];
    const allowed = await Promise.all(namespaces.map(async (ns) => (await canI(clusterId, { ...attrs, namespace: ns.name })) ? ns.name : undefined));
    return allowed.filter((ns): ns is string => ns !== undefined).map((ns) => collectionPath(clusterId, kind, ns));
  }
  return (await canI(clusterId, { ...attrs, namespace })) ? [collectionPath(clusterId, kind, namespace)] : [];
}

export function ResourceList(props: { clusterId: string; kind: Kind; namespace: string; namespaces: VisibleNamespace[] }) {
  const { clusterId, kind, namespace } = props;
  const paths = useLoad(() => listablePaths(clusterId, kind, namespace, props.namespaces), [clusterId, kind.key, namespace, props.namespaces.length]);
  const where = !kind.namespaced ? 'in this cluster' : namespace === allNamespaces ? 'in any namespace you can see' : `in namespace ${namespace}`;
  return (
    <div>
      <h2>{kindLabel(kind)}</h2>
      <Show load={paths} empty={(p) => p.length === 0} emptyText={`Nothing here for you: you may not list ${kindLabel(kind)} ${where}. Ask a cluster or project owner for access.`}>
        {(p) => <LiveList clusterId={clusterId} kind={kind} paths={p} showNamespace={kind.namespaced && namespace === allNamespaces} />}
      </Show>
    </div>
  );
}

type Sort = { column: number; descending: boolean };

/** A cell as kubectl prints it; Age counted from the object's creation, so it stays current. */
export function cellText(row: TableRow, index: number, column: ColumnDefinition): string {
  if (column.name === 'Age' && row.object.metadata.creationTimestamp) return ago(row.object.metadata.creationTimestamp).replace(/ ago$/, '');
  const cell = row.cells[index];
  if (cell === undefined || cell === null) return '';
  return typeof cell === 'string' || typeof cell === 'number' || typeof cell === 'boolean' ? String(cell) : JSON.stringify(cell);
}

/** Columns of free text (an event's message) get a readable minimum width: on a phone the table scrolls rather than stacking words. */
export function cellClass(column: ColumnDefinition): string | undefined {
  return column.name === 'Message' ? 'long' : undefined;
}

/** Sort key: Age by creation time, numbers as numbers, the rest as text. */
function compare(a: TableRow, b: TableRow, index: number, column: ColumnDefinition): number {
  if (column.name === 'Age') return (b.object.metadata.creationTimestamp ?? '').localeCompare(a.object.metadata.creationTimestamp ?? '');
  return cellText(a, index, column).localeCompare(cellText(b, index, column), undefined, { numeric: true });
}

function LiveList(props: { clusterId: string; kind: Kind; paths: string[]; showNamespace: boolean }) {
  const table = useLiveTable(props.paths);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<Sort>({ column: 0, descending: false });
  // kubectl shows priority-0 columns; the rest are `-o wide`.
  const shown = table.columns.map((c, i) => [c, i] as const).filter(([c]) => c.priority === 0);
  const words = filter.trim().toLowerCase().split(/\s+/).filter((w) => w !== '');
  const text = (row: TableRow): string => [row.object.metadata.namespace ?? '', ...shown.map(([c, i]) => cellText(row, i, c))].join(' ').toLowerCase();
  const rows = table.rows.filter((r) => words.every((w) => text(r).includes(w)));
  const sortColumn = shown[sort.column];
  if (sortColumn) rows.sort((a, b) => (sort.descending ? -1 : 1) * compare(a, b, sortColumn[1], sortColumn[0]));
  const label = kindLabel(props.kind);
  if (table.loading && table.rows.length === 0) return <p class="muted" role="status">Loading…</p>;
  return (
    <>
      <div class="list-tools">
        <label class="filter">Filter<input type="search" value={filter} onInput={(e) => setFilter(value(e))} placeholder="name, status, …" /></label>
        <span class="muted" role="status">{rows.length === table.rows.length ? `${rows.length}` : `${rows.length} of ${table.rows.length}`} {table.rows.length === 1 ? kindSingular(props.kind) : label.toLowerCase()}, live</span>
      </div>
      {table.error !== undefined && <p class="error" role="alert">{table.error}</p>}
      {table.rows.length === 0 ? <p class="empty">No {label.toLowerCase()} here.</p> : (
        <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
          <table>
            <thead><tr>
              {props.showNamespace && <th scope="col">Namespace</th>}
              {shown.map(([c], n) => (
                <th scope="col" key={c.name} title={c.description} aria-sort={sort.column === n ? (sort.descending ? 'descending' : 'ascending') : undefined}>
                  <button type="button" class="sort" onClick={() => setSort({ column: n, descending: sort.column === n && !sort.descending })}>
                    {c.name}{sort.column === n ? (sort.descending ? ' ▼' : ' ▲') : ''}
                  </button>
                </th>
              ))}
            </tr></thead>
            <tbody>
              {rows.map((row) => {
                const meta = row.object.metadata;
                return (
                  <tr key={meta.uid} data-name={meta.name}>
                    {props.showNamespace && <td>{meta.namespace}</td>}
                    {shown.map(([c, i], n) => (
                      <td key={c.name} class={cellClass(c)}>{n === 0 && c.name === 'Name'
                        ? <Link href={explorePath(props.clusterId, meta.namespace ?? allNamespaces, props.kind.key, meta.name)}>{meta.name}</Link>
                        : cellText(row, i, c)}</td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
