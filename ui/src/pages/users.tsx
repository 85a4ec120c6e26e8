/** Users (admins): create, enable/disable, reset password, delete. */
import { useState } from 'preact/hooks';
import { api, get, post, q } from '../api.ts';
import { ErrorText, Show, Table, ago, useAction, useLoad, value } from '../components.tsx';
import type { User } from '../types.ts';

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
          <Table label="Users" head={['User', 'Role', 'Principals', 'State', 'Created', '']}>
            {list.map((u) => (
              <tr key={u.id}>
                <td>{u.username}<div class="muted small">{u.id}</div></td><td>{u.globalRole}</td>
                <td class="small">{u.principalIds.join(' ')}</td>
                <td>{u.enabled ? 'enabled' : 'disabled'}{u.mustChangePassword ? ', must change password' : ''}</td><td>{ago(u.createdAt)}</td>
                <td>{u.id !== props.me.id && (
                  <span class="actions">
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
    </section>
  );
}
