/** Users and groups (admins): create, promote/demote, enable/disable, delete; the provider groups users are in. */
import { useState } from 'preact/hooks';
import { api, get, post, q } from '../api.ts';
import { ErrorText, Show, Table, ago, useAction, useLoad, value } from '../components.tsx';
import { isGroup } from '../principals.ts';
import type { User } from '../types.ts';

/** Every group principal held by some user, with those users' names: what a group binding would reach today. */
function groupsOf(users: User[]): Array<[string, string[]]> {
  const groups = new Map<string, string[]>();
  for (const u of users) for (const p of u.principalIds.filter(isGroup)) groups.set(p, [...(groups.get(p) ?? []), u.username]);
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export function UsersPage(props: { me: User }) {
  const users = useLoad(() => get<User[]>('/v1/users'), []);
  const [form, setForm] = useState({ username: '', password: '', admin: false });
  const action = useAction();

  const create = (e: Event): void => {
    e.preventDefault();
    action.run(async () => {
      await post('/v1/users', { username: form.username, password: form.password, globalRole: form.admin ? 'admin' : 'user', mustChangePassword: true });
      setForm({ username: '', password: '', admin: false });
      users.reload();
    });
  };
  const setRole = (u: User, globalRole: 'admin' | 'user'): void => {
    const what = globalRole === 'admin' ? `Make ${u.username} an admin? Admins hold cluster-admin in every cluster.` : `Take the admin role from ${u.username}?`;
    if (!window.confirm(what)) return;
    action.run(async () => { await api('PATCH', `/v1/users/${q(u.id)}`, { globalRole }); users.reload(); });
  };
  const toggle = (u: User): void => action.run(async () => { await api('PATCH', `/v1/users/${q(u.id)}`, { enabled: !u.enabled }); users.reload(); });
  const remove = (u: User): void => {
    if (!window.confirm(`Delete ${u.username} and all their tokens?`)) return;
    action.run(async () => { await api('DELETE', `/v1/users/${q(u.id)}`); users.reload(); });
  };

  return (
    <section>
      <h1>Users</h1>
      <ErrorText error={action.error} />
      <Show load={users} empty={(l) => l.length === 0}>
        {(list) => (
          <Table label="Users" head={['User', 'Role', 'Principals', 'Groups', 'State', 'Created', '']}>
            {list.map((u) => (
              <tr key={u.id}>
                <td>{u.username}<div class="muted small">{u.id}</div></td><td>{u.globalRole}</td>
                <td class="small">{u.principalIds.filter((p) => !isGroup(p)).join(' ')}</td>
                <td class="small">{u.principalIds.filter(isGroup).length}</td>
                <td>{u.enabled ? 'enabled' : 'disabled'}{u.mustChangePassword ? ', must change password' : ''}</td><td>{ago(u.createdAt)}</td>
                <td>{u.id !== props.me.id && (
                  <span class="actions">
                    <button type="button" class="secondary small" onClick={() => setRole(u, u.globalRole === 'admin' ? 'user' : 'admin')}
                      aria-label={u.globalRole === 'admin' ? `Remove admin role from ${u.username}` : `Make ${u.username} an admin`}>{u.globalRole === 'admin' ? 'Remove admin' : 'Make admin'}</button>
                    <button type="button" class="secondary small" onClick={() => toggle(u)}>{u.enabled ? 'Disable' : 'Enable'}</button>
                    <button type="button" class="danger small" onClick={() => remove(u)} aria-label={`Delete ${u.username}`}>Delete</button>
                  </span>
                )}</td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
      <form onSubmit={create} class="card inline" aria-label="Create a local user">
        <label>Username<input required maxLength={64} value={form.username} onInput={(e) => setForm({ ...form, username: value(e) })} /></label>
        <label>Initial password<input type="password" autocomplete="new-password" required minLength={12} value={form.password} onInput={(e) => setForm({ ...form, password: value(e) })} /></label>
        <label class="check"><input type="checkbox" checked={form.admin} onChange={(e) => setForm({ ...form, admin: e.currentTarget.checked })} /> Admin</label>
        <button type="submit" disabled={action.busy}>Create user</button>
      </form>
      <p class="muted">New users must choose their own password at first login. Groups come from the auth providers.</p>
      <h2>Groups</h2>
      <p class="muted">Groups the auth providers report for users who have logged in, refreshed in the background. Bind a group to a cluster or project from its Members section.</p>
      <Show load={users} empty={(l) => groupsOf(l).length === 0} emptyText="No user is in a provider group yet.">
        {(list) => (
          <Table label="Groups" head={['Group', 'Drover users in it']}>
            {groupsOf(list).map(([group, names]) => (
              <tr key={group}><td class="small">{group}</td><td>{names.join(', ')}</td></tr>
            ))}
          </Table>
        )}
      </Show>
    </section>
  );
}
