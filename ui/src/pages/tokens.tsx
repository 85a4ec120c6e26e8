/** API tokens: create with a lifetime (the secret is shown once), list, revoke. */
import { useState } from 'preact/hooks';
import { api, get, post, q } from '../api.ts';
import { Code, ErrorText, Show, Table, ago, until, useAction, useLoad, value } from '../components.tsx';
import type { IssuedToken, Token } from '../types.ts';

const ttls: Array<[string, string]> = [['3600', '1 hour'], ['86400', '1 day'], ['2592000', '30 days'], ['7776000', '90 days'], ['', 'Server default']];

export function TokensPage() {
  const tokens = useLoad(() => get<Token[]>('/v1/tokens'), []);
  const [description, setDescription] = useState('');
  const [ttl, setTtl] = useState('2592000');
  const [issued, setIssued] = useState<IssuedToken | undefined>(undefined);
  const action = useAction();

  const create = (e: Event): void => {
    e.preventDefault();
    action.run(async () => {
      setIssued(await post<IssuedToken>('/v1/tokens', { description, kind: 'api', ...(ttl ? { ttlSeconds: Number(ttl) } : {}) }));
      setDescription('');
      tokens.reload();
    });
  };
  const revoke = (t: Token): void => action.run(async () => {
    await api('DELETE', `/v1/tokens/${q(t.id)}`);
    if (issued?.tokenId === t.id) setIssued(undefined);
    tokens.reload();
  });

  return (
    <section>
      <h1>API tokens</h1>
      <form onSubmit={create} class="card inline" aria-label="Create an API token">
        <label>Description<input required maxLength={256} value={description} onInput={(e) => setDescription(value(e))} /></label>
        <label>Expires after
          <select value={ttl} onChange={(e) => setTtl(value(e))}>{ttls.map(([v, l]) => <option key={v} value={v}>{l}</option>)}</select>
        </label>
        <button type="submit" disabled={action.busy}>Create token</button>
      </form>
      {issued && (
        <div class="card notice" role="status">
          <p><strong>Copy this token now; it is not shown again.</strong> It expires {issued.expiresAt ? `in ${until(issued.expiresAt)}` : 'never'}.</p>
          <Code label="new token" text={issued.token} />
        </div>
      )}
      <ErrorText error={action.error} />
      <Show load={tokens} empty={(l) => l.length === 0} emptyText="You have no tokens.">
        {(list) => (
          <Table label="Your tokens" head={['Description', 'Kind', 'Cluster', 'Created', 'Last used', 'Expires', '']}>
            {list.map((t) => (
              <tr key={t.id} data-token={t.id}>
                <td>{t.description || '—'}<div class="muted small">{t.id}{t.current ? ' (this session)' : ''}</div></td>
                <td>{t.kind}</td><td>{t.clusterId ?? '—'}</td><td>{ago(t.createdAt)}</td><td>{ago(t.lastUsedAt)}</td>
                <td>{t.expiresAt ? until(t.expiresAt) : 'never'}</td>
                <td>{!t.current && <button type="button" class="secondary small" onClick={() => revoke(t)} aria-label={`Revoke ${t.description || t.id}`}>Revoke</button>}</td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
    </section>
  );
}
