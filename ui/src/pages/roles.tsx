/** Role templates: what each grants and where. */
import { get } from '../api.ts';
import { Show, Table, useLoad } from '../components.tsx';
import type { RoleTemplate } from '../types.ts';

export function RolesPage() {
  const roles = useLoad(() => get<RoleTemplate[]>('/v1/roles'), []);
  return (
    <section>
      <h1>Role templates</h1>
      <Show load={roles} empty={(l) => l.length === 0} emptyText="No role templates.">
        {(list) => (
          <Table label="Role templates" head={['Name', 'Context', 'Description', 'Inherits', 'Rules', 'Kind']}>
            {list.map((r) => (
              <tr key={r.name}>
                <td>{r.displayName || r.name}<div class="muted small">{r.name}</div></td><td>{r.context}</td><td>{r.description}</td>
                <td>{r.inherits.join(', ') || '—'}</td><td>{r.rules.length}</td><td>{r.builtin ? 'built-in' : 'custom'}{r.locked ? ', locked' : ''}</td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
    </section>
  );
}
