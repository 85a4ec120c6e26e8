/** Settings: kubeconfig token settings (admins edit, others read) and the authorized cluster endpoint per cluster. */
import { useState } from 'preact/hooks';
import { api, get, q } from '../api.ts';
import { ago, ErrorText, Notice, Show, Table, useAction, useLoad, value } from '../components.tsx';
import type { AceView, Cluster, KubeconfigSettingsView, User } from '../types.ts';
import { formatDuration, parseDuration } from '../../../src/durations/index.ts';

export function SettingsPage(props: { user: User }) {
  const clusters = useLoad(() => get<Cluster[]>('/v1/clusters'), []);
  const admin = props.user.globalRole === 'admin';
  return (
    <section>
      <h1>Settings</h1>
      <KubeconfigSettingsCard admin={admin} />
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
  const ace = useLoad(() => get<AceView>(`/v1/clusters/${q(id)}/ace`), [id]);
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

/** The server's bounds (src/proxy/kubeconfig-settings.ts); the server checks again. */
const MIN_TTL = 60;
const MAX_TTL = 365 * 86400;

/** `2592000` → `30 days`, `5400` → `1 hour 30 minutes`. */
function duration(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
    rest %= size;
  }
  return parts.join(' ') || '0 seconds';
}

/** Seconds of a lifetime typed as `30d`, `12h`, `1h30m` or plain seconds (the CLI's parser); NaN when it is none. */
const seconds = (text: string): number => parseDuration(text) ?? Number.NaN;

/** Checks the form in words; undefined when it may be sent. */
function checkDraft(draft: { ttl: string; max: string }): string | undefined {
  for (const [label, raw] of [['The default lifetime', draft.ttl], ['The maximum lifetime', draft.max]] as const) {
    const n = seconds(raw);
    if (Number.isNaN(n)) return `${label} must be a duration like 90s, 15m, 12h or 30d (a plain number is seconds).`;
    if (n < MIN_TTL) return `${label} must be at least ${MIN_TTL} seconds (1 minute).`;
    if (n > MAX_TTL) return `${label} must be at most ${MAX_TTL} seconds (365 days).`;
  }
  if (seconds(draft.ttl) > seconds(draft.max)) return `The default lifetime (${duration(seconds(draft.ttl))}) is longer than the maximum (${duration(seconds(draft.max))}); raise the maximum or shorten the default.`;
  return undefined;
}

function KubeconfigSettingsCard(props: { admin: boolean }) {
  const settings = useLoad(() => get<KubeconfigSettingsView>('/v1/settings/kubeconfig'), []);
  const [draft, setDraft] = useState<{ ttl: string; max: string; generate: boolean } | undefined>(undefined);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const action = useAction();
  const save = (e: Event): void => {
    e.preventDefault();
    if (!draft) return;
    const problem = checkDraft(draft);
    if (problem) { action.setError(problem); return; }
    const body = { defaultTtlSeconds: seconds(draft.ttl), maxTtlSeconds: seconds(draft.max), generateToken: draft.generate };
    action.run(async () => {
      await api('PUT', '/v1/settings/kubeconfig', body);
      setDraft(undefined);
      setSaved('Saved. The next kubeconfig uses these settings.');
      settings.reload();
    });
  };
  return (
    <div class="card">
      <h2>Kubeconfig tokens</h2>
      <Show load={settings}>
        {(s) => (
          <>
            <Table label="Kubeconfig token settings" head={['Setting', 'Value', 'Meaning']}>
              <tr><td>Default token lifetime</td><td>{duration(s.defaultTtlSeconds)}</td><td>lifetime of the token in a downloaded kubeconfig</td></tr>
              <tr><td>Maximum token lifetime</td><td>{duration(s.maxTtlSeconds)}</td><td>the longest lifetime a user may ask for</td></tr>
              <tr><td>Kubeconfig credential</td><td>{s.generateToken ? 'a token' : <>the <code>drover token</code> exec plugin</>}</td><td>what a downloaded kubeconfig holds</td></tr>
            </Table>
            <p class="muted">
              {s.source === 'stored' ? `Saved by an admin${s.updatedAt ? ` ${ago(s.updatedAt)}` : ''}.` : 'From the server environment (DROVER_KUBECONFIG_*) until an admin saves them here.'}
            </p>
            {props.admin && !draft && (
              <button type="button" class="secondary small" onClick={() => { setSaved(undefined); action.setError(undefined); setDraft({ ttl: formatDuration(s.defaultTtlSeconds), max: formatDuration(s.maxTtlSeconds), generate: s.generateToken }); }}>Change</button>
            )}
          </>
        )}
      </Show>
      {draft && (
        <form onSubmit={save} class="inline" aria-label="Kubeconfig token settings">
          <label>Default lifetime (e.g. 30d, 12h)
            <input required value={draft.ttl} onInput={(e) => setDraft({ ...draft, ttl: value(e) })} />
          </label>
          <label>Maximum lifetime (e.g. 90d)
            <input required value={draft.max} onInput={(e) => setDraft({ ...draft, max: value(e) })} />
          </label>
          <label>Kubeconfigs hold
            <select value={draft.generate ? 'token' : 'exec'} onChange={(e) => setDraft({ ...draft, generate: value(e) === 'token' })}>
              <option value="token">a token</option><option value="exec">the drover token exec plugin</option>
            </select>
          </label>
          <button type="submit" disabled={action.busy}>Save</button>
          <button type="button" class="secondary" onClick={() => { setDraft(undefined); action.setError(undefined); }}>Cancel</button>
        </form>
      )}
      {draft && !checkDraft(draft) && <p class="muted">Default {duration(seconds(draft.ttl))}, maximum {duration(seconds(draft.max))}.</p>}
      <ErrorText error={action.error} />
      <Notice text={saved} />
    </div>
  );
}
