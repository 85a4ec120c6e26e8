/** Settings: kubeconfig token settings (server environment, read-only) and the authorized cluster endpoint per cluster. */
import { useState } from 'preact/hooks';
import { api, get, q } from '../api.ts';
import { ErrorText, Notice, Show, Table, useAction, useLoad, value } from '../components.tsx';
import type { AceSetting, Cluster, User } from '../types.ts';

export function SettingsPage(props: { user: User }) {
  const clusters = useLoad(() => get<Cluster[]>('/v1/clusters'), []);
  const admin = props.user.globalRole === 'admin';
  return (
    <section>
      <h1>Settings</h1>
      <div class="card">
        <h2>Kubeconfig tokens</h2>
        <p>Set when the server starts (read-only here):</p>
        <Table label="Kubeconfig token settings" head={['Setting', 'Meaning', 'Default']}>
          <tr><td><code>DROVER_KUBECONFIG_TOKEN_TTL_SECONDS</code></td><td>lifetime of a downloaded kubeconfig's token</td><td>30 days</td></tr>
          <tr><td><code>DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS</code></td><td>the longest lifetime a user may ask for</td><td>90 days</td></tr>
          <tr><td><code>DROVER_KUBECONFIG_GENERATE_TOKEN</code></td><td>"false": kubeconfigs run <code>drover token</code> instead of holding a token</td><td>true</td></tr>
        </Table>
      </div>
      <div class="card">
        <h2>Authorized cluster endpoint</h2>
        <p>Lets kubectl reach a cluster directly (Drover's webhook checks the token) when Drover is down.</p>
        <Show load={clusters} empty={(l) => l.length === 0} emptyText="No clusters.">
          {(list) => <>{list.map((c) => <AceEditor key={c.id} cluster={c} admin={admin} />)}</>}
        </Show>
      </div>
    </section>
  );
}

function AceEditor(props: { cluster: Cluster; admin: boolean }) {
  const id = props.cluster.id;
  const ace = useLoad(() => get<{ setting: AceSetting; contexts: Array<{ name: string; server: string }> }>(`/v1/clusters/${q(id)}/ace`), [id]);
  const [draft, setDraft] = useState<{ mode: string; fqdn: string; caPem: string } | undefined>(undefined);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const action = useAction();
  const save = (e: Event): void => {
    e.preventDefault();
    if (!draft) return;
    const body = draft.mode === 'fqdn' ? { mode: 'fqdn', fqdn: draft.fqdn, ...(draft.caPem.trim() ? { caPem: draft.caPem } : {}) } : { mode: draft.mode };
    action.run(async () => { await api('PATCH', `/v1/clusters/${q(id)}/ace`, body); setDraft(undefined); setSaved('Saved.'); ace.reload(); });
  };
  return (
    <div class="sub">
      <h3>{props.cluster.displayName || props.cluster.name}</h3>
      <Show load={ace}>
        {(a) => (
          <>
            <p>Mode: <strong>{a.setting.mode}</strong>{a.setting.mode === 'fqdn' ? ` (${a.setting.fqdn})` : ''}; contexts: {a.contexts.map((c) => c.name).join(', ') || 'none'}</p>
            {props.admin && !draft && (
              <button type="button" class="secondary small" onClick={() => setDraft({ mode: a.setting.mode, fqdn: a.setting.mode === 'fqdn' ? a.setting.fqdn : '', caPem: '' })}>Change</button>
            )}
          </>
        )}
      </Show>
      {draft && (
        <form onSubmit={save} class="inline" aria-label={`Authorized endpoint of ${props.cluster.name}`}>
          <label>Mode
            <select value={draft.mode} onChange={(e) => setDraft({ ...draft, mode: value(e) })}>
              <option value="off">Off</option><option value="nodes">Each control-plane node</option><option value="fqdn">An FQDN</option>
            </select>
          </label>
          {draft.mode === 'fqdn' && <label>FQDN<input required value={draft.fqdn} onInput={(e) => setDraft({ ...draft, fqdn: value(e) })} /></label>}
          {draft.mode === 'fqdn' && <label>CA (PEM, optional)<textarea rows={3} value={draft.caPem} onInput={(e) => setDraft({ ...draft, caPem: value(e) })} /></label>}
          <button type="submit" disabled={action.busy}>Save</button>
          <button type="button" class="secondary" onClick={() => setDraft(undefined)}>Cancel</button>
        </form>
      )}
      <ErrorText error={action.error} />
      <Notice text={saved} />
    </div>
  );
}
