/** Login: local and password providers (LDAP, AD) by form; redirect providers (GitHub, OIDC) by link. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, describeError } from '../api.ts';
import { ErrorText, value } from '../components.tsx';
import type { AuthProviderInfo, Session } from '../types.ts';

export function LoginPage(props: { onLogin: (s: Session) => void; initialError?: string | undefined }) {
  const [providers, setProviders] = useState<AuthProviderInfo[]>([{ name: 'local', style: 'password', displayName: 'Local' }]);
  const [provider, setProvider] = useState('local');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(() => props.initialError ?? errorFromQuery());
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<AuthProviderInfo[]>('GET', '/v1/auth/providers').then((list) => {
      const others = list.filter((p) => p.name !== 'local');
      setProviders([{ name: 'local', style: 'password', displayName: 'Local' }, ...others]);
    }).catch((e: unknown) => {
      // An older server without providers: local only.
      if (!(e instanceof ApiError && e.status === 404)) setError(describeError(e));
    });
  }, []);

  const submit = (e: Event): void => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    api<Session>('POST', '/v1/session', { username, password, ...(provider === 'local' ? {} : { provider }) })
      .then((s) => { setPassword(''); props.onLogin(s); })
      .catch((err: unknown) => setError(describeError(err)))
      .finally(() => setBusy(false));
  };

  const passwordProviders = providers.filter((p) => p.style !== 'redirect');
  const redirectProviders = providers.filter((p) => p.style === 'redirect');
  return (
    <main class="narrow">
      <h1>Log in to Drover</h1>
      <form onSubmit={submit} class="card">
        {passwordProviders.length > 1 && (
          <label>Sign in with
            <select value={provider} onChange={(e) => setProvider(value(e))}>
              {passwordProviders.map((p) => <option key={p.name} value={p.name}>{p.displayName}</option>)}
            </select>
          </label>
        )}
        <label>Username
          <input name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(value(e))} />
        </label>
        <label>Password
          <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(value(e))} />
        </label>
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
      </form>
      {redirectProviders.length > 0 && (
        <div class="card">
          {redirectProviders.map((p) => (
            <a key={p.name} class="button secondary" href={`/v1/auth/${encodeURIComponent(p.name)}/login?purpose=ui`}>Log in with {p.displayName}</a>
          ))}
        </div>
      )}
    </main>
  );
}

/** A browser login the server refused comes back as `/?error=…`: shown once, then dropped from the URL so a reload does not repeat it. */
/** Words for the error codes a refused provider login sends back; the URL carries only the code (see redirect-api.ts). */
const loginRefusals: Record<string, string> = {
  DRV_ERR_UNAUTHENTICATED: 'the provider did not confirm who you are (the login may have been cancelled); try again',
  DRV_ERR_FORBIDDEN: 'your account may not log in through this provider; ask an admin to allow your user or one of your groups',
  DRV_ERR_PROVIDER_UNAVAILABLE: 'the identity provider could not be reached; try again later, or ask an admin to check the provider settings',
  DRV_ERR_USER_DISABLED: 'your Drover account is disabled; ask an admin',
  DRV_ERR_LOGIN_EXPIRED: 'the login took too long; start it again',
};

function errorFromQuery(): string | undefined {
  const query = new URLSearchParams(location.search);
  const code = query.get('error');
  if (code === null) return undefined;
  query.delete('error');
  const rest = query.toString();
  history.replaceState(history.state, '', `${location.pathname}${rest === '' ? '' : `?${rest}`}${location.hash}`);
  return `Login failed: ${loginRefusals[code] ?? 'the login did not complete; try again'}`;
}
