/**
 * A list that stays current: list once in Table form, then watch from its
 * resourceVersion and apply each event's row; when the watch ends or expires
 * (410 Gone), list again. Several collections (one per namespace, for a user who
 * may not list across all of them) merge into one set of rows, keyed by uid.
 */
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../api.ts';
import { getJson, tableAccept, watch, type ColumnDefinition, type KubeTable, type TableRow } from './kube.ts';

export interface LiveTable { columns: ColumnDefinition[]; rows: TableRow[]; error: string | undefined; loading: boolean }

/** How long to wait before listing again after a failure: the proxy or the cluster may be restarting. */
const retryMs = 5000;

export function useLiveTable(paths: string[]): LiveTable {
  const [state, setState] = useState<LiveTable>({ columns: [], rows: [], error: undefined, loading: true });
  const key = paths.join('\n');
  useEffect(() => {
    const abort = new AbortController();
    const rowsBySource = paths.map(() => new Map<string, TableRow>());
    let columns: ColumnDefinition[] = [];
    const loaded = new Set<number>();
    const errors = new Map<number, string>();
    setState({ columns: [], rows: [], error: undefined, loading: paths.length > 0 });
    const publish = (): void => {
      if (abort.signal.aborted) return;
      const rows = rowsBySource.flatMap((m) => [...m.values()]);
      setState({ columns, rows, error: [...errors.values()][0], loading: loaded.size < paths.length });
    };
    const follow = async (index: number, path: string): Promise<void> => {
      const rows = rowsBySource[index] ?? new Map<string, TableRow>();
      while (!abort.signal.aborted) {
        try {
          const table = await getJson<KubeTable>(path, tableAccept);
          if (columns.length === 0) columns = table.columnDefinitions;
          rows.clear();
          for (const row of table.rows) rows.set(row.object.metadata.uid, row);
          loaded.add(index);
          errors.delete(index);
          publish();
          // A watch ends when the server closes it or the version expired (an ERROR event, 410): list again.
          await watch(path, table.metadata.resourceVersion ?? '', tableAccept, abort.signal, (event) => {
            if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') return;
            for (const row of event.object.rows) {
              if (event.type === 'DELETED') rows.delete(row.object.metadata.uid);
              else rows.set(row.object.metadata.uid, row);
            }
            publish();
          });
        } catch (e) {
          if (abort.signal.aborted) return;
          loaded.add(index);
          errors.set(index, describeError(e));
          publish();
          await new Promise((resolve) => setTimeout(resolve, retryMs));
        }
      }
    };
    paths.forEach((path, index) => { void follow(index, path); });
    return () => abort.abort();
  }, [key]);
  return state;
}
