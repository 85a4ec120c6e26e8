/** Auth providers (admins): list, configure as JSON, test, enable/disable. */
import { useState } from 'preact/hooks';
import { ApiError, api, get, post, q } from '../api.ts';
import { ErrorText, Notice, Show, Table, ago, useAction, useLoad, value } from '../components.tsx';
import type { ProviderTestAnswer, ProviderView } from '../types.ts';

export function ProvidersPage() {
  const providers = useLoad(async () => {
    try {
      return await get<ProviderView[]>('/v1/providers');
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }, []);
  const [editing, setEditing] = useState<{ name: string; text: string } | undefined>(undefined);
  const [testing, setTesting] = useState<{ name: string; username: string; password: string } | undefined>(undefined);
  const [result, setResult] = useState<string | undefined>(undefined);
  const action = useAction();
  const toggle = (p: ProviderView): void => action.run(async () => {
    await post(`/v1/providers/${q(p.name)}/${p.enabled ? 'disable' : 'enable'}`);
    providers.reload();
  });
  const test = (e: Event): void => {
    e.preventDefault();
    if (!testing) return;
    action.run(async () => {
      setResult(undefined);
      const answer = await post<ProviderTestAnswer>(`/v1/providers/${q(testing.name)}/test`, { username: testing.username, password: testing.password });
      setResult(`${testing.name}: logged in as ${answer.user.displayName} with ${answer.groups.length} groups.`);
      setTesting(undefined);
      providers.reload();
    });
  };
  const save = (e: Event): void => {
    e.preventDefault();
    if (!editing) return;
    action.run(async () => {
      let body: unknown;
      try { body = JSON.parse(editing.text); } catch { throw new Error('the configuration is not valid JSON'); }
      await api('PUT', `/v1/providers/${q(editing.name)}`, body);
      setEditing(undefined);
      providers.reload();
    });
  };
  const edit = (p: ProviderView): void => setEditing({
    name: p.name, text: JSON.stringify({ config: p.config, accessMode: p.accessMode, allowedPrincipals: p.allowedPrincipals }, null, 2),
  });
  return (
    <section>
      <h1>Auth providers</h1>
      <p>Local users always work. A provider can be enabled once its configuration passed a test login.</p>
      <ErrorText error={action.error} />
      <Notice text={result} />
      <Show load={providers}>
        {(list) => list === undefined ? <p class="empty">This server has no external auth providers.</p> : (
          <Table label="Auth providers" head={['Provider', 'Style', 'State', 'Access', 'Tested', '']}>
            {list.map((p) => (
              <tr key={p.name}>
                <td>{p.displayName}<div class="muted small">{p.name}</div></td><td>{p.style}</td>
                <td>{p.enabled ? 'enabled' : p.configured ? 'disabled' : 'not configured'}</td>
                <td>{p.accessMode}{p.allowedPrincipals.length ? ` (${p.allowedPrincipals.length} allowed)` : ''}</td>
                <td>{p.tested ? `yes, ${ago(p.testedAt)}` : 'no'}</td>
                <td><div class="actions">
                  <button type="button" class="secondary small" onClick={() => edit(p)} aria-label={`Configure ${p.displayName}`}>Configure</button>
                  {p.style === 'password'
                    ? <button type="button" class="secondary small" onClick={() => setTesting({ name: p.name, username: '', password: '' })} disabled={!p.configured} aria-label={`Test ${p.displayName}`}>Test</button>
                    : p.configured && <a class="button secondary small" href={`/v1/auth/${q(p.name)}/login?purpose=test`}>Test login</a>}
                  <button type="button" class="secondary small" onClick={() => toggle(p)} disabled={!p.enabled && !p.tested} aria-label={`${p.enabled ? 'Disable' : 'Enable'} ${p.displayName}`}>{p.enabled ? 'Disable' : 'Enable'}</button>
                </div></td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
      {testing && (
        <form onSubmit={test} class="card inline" aria-label={`Test ${testing.name}`}>
          <label>Username<input required autocomplete="off" value={testing.username} onInput={(e) => setTesting({ ...testing, username: value(e) })} /></label>
          <label>Password<input type="password" autocomplete="off" required value={testing.password} onInput={(e) => setTesting({ ...testing, password: value(e) })} /></label>
          <button type="submit" disabled={action.busy}>Test login</button>
          <button type="button" class="secondary" onClick={() => setTesting(undefined)}>Cancel</button>
        </form>
      )}
      {editing && (
        <form onSubmit={save} class="card">
          <label>Configuration of {editing.name} (JSON body of PUT /v1/providers/{editing.name}; secret fields left out keep their stored value)
            <textarea rows={14} spellcheck={false} value={editing.text} onInput={(e) => setEditing({ ...editing, text: value(e) })} />
          </label>
          <div class="actions">
            <button type="submit" disabled={action.busy}>Save</button>
            <button type="button" class="secondary" onClick={() => setEditing(undefined)}>Cancel</button>
          </div>
        </form>
      )}
    </section>
  );
}
