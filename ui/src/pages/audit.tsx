/** Recent audit events (admins): who did what on which cluster, filtered as `drover audit list` filters. */
import { useState } from 'preact/hooks';
import { get } from '../api.ts';
import { Show, Table, ago, useLoad, value } from '../components.tsx';
import type { AuditEvent, AuditListAnswer } from '../../../src/audit/index.ts';
import { SessionsSection } from './session-player.tsx';

type Filters = { user: string; cluster: string; verb: string; since: string };

function target(e: AuditEvent): string {
  const ref = e.objectRef;
  if (!ref?.resource) return e.requestURI.split('?', 1)[0] ?? '';
  const resource = `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}${ref.apiGroup ? `.${ref.apiGroup}` : ''}`;
  return [resource, ref.name, ref.namespace ? `in ${ref.namespace}` : ''].filter((p) => p).join(' ');
}

export function AuditPage() {
  const [draft, setDraft] = useState<Filters>({ user: '', cluster: '', verb: '', since: '24h' });
  const [filters, setFilters] = useState<Filters>(draft);
  const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== ''));
  const events = useLoad(() => get<AuditListAnswer>(`/v1/audit?${query.toString()}`), [query.toString()]);
  const field = (key: keyof Filters, label: string) => (
    <label>{label}<input value={draft[key]} onInput={(e) => setDraft({ ...draft, [key]: value(e) })} /></label>
  );
  return (
    <section>
      <h1>Audit</h1>
      <form class="card inline" aria-label="Filter audit events" onSubmit={(e) => { e.preventDefault(); setFilters(draft); }}>
        {field('user', 'User')}{field('cluster', 'Cluster')}{field('verb', 'Verb')}{field('since', 'Since')}
        <button type="submit">Show</button>
      </form>
      <Show load={events} empty={(l) => l.items.length === 0} emptyText="No events match.">
        {(list) => (
          <Table label="Audit events" head={['When', 'User', 'Cluster', 'Verb', 'Target', 'Code']}>
            {list.items.map((e) => (
              <tr key={`${e.auditID}-${e.stage}`} data-audit-id={e.auditID}>
                <td title={e.requestReceivedTimestamp}>{ago(e.requestReceivedTimestamp)}</td>
                <td>{e.user.extra?.username?.[0] ?? e.user.username}{e.impersonatedUser ? <div class="muted small">as {e.impersonatedUser.username}</div> : null}</td>
                <td>{e.annotations?.['drover.dev/cluster-id'] ?? '—'}</td>
                <td>{e.verb}</td><td>{target(e)}</td><td>{e.responseStatus?.code ?? ''}</td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
      <SessionsSection />
    </section>
  );
}
