/** The app shell: who is logged in, the navigation, and which page the path shows. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, describeError, setCsrfToken, whenUnauthenticated } from './api.ts';
import { Link } from './components.tsx';
import { match, navigate, usePath } from './router.ts';
import type { Session, User } from './types.ts';
import { LoginPage } from './pages/login.tsx';
import { PasswordPage } from './pages/password.tsx';
import { ClustersPage } from './pages/clusters.tsx';
import { ClusterPage } from './pages/cluster.tsx';
import { RolesPage } from './pages/roles.tsx';
import { TokensPage } from './pages/tokens.tsx';
import { UsersPage } from './pages/users.tsx';
import { ProvidersPage } from './pages/providers.tsx';
import { SettingsPage } from './pages/settings.tsx';
import { lazyComponent } from './lazy.tsx';
import { AuditPage } from './pages/audit.tsx';
import './style.css';

const Explorer = lazyComponent(async () => (await import('./explorer/page.tsx')).ExplorerPage, 'explorer');

function Page(props: { path: string; user: User; onUserChanged: (u: User) => void }) {
  const { path, user } = props;
  const admin = user.globalRole === 'admin';
  const explore = /^\/clusters\/([^/]+)\/explore(?:\/(.*))?$/.exec(path);
  if (explore?.[1]) return <Explorer clusterId={decodeURIComponent(explore[1])} rest={(explore[2] ?? '').split('/').filter((s) => s !== '').map(decodeURIComponent)} user={user} />;
  const cluster = match('/clusters/:id', path);
  if (cluster?.id) return <ClusterPage id={cluster.id} user={user} />;
  switch (path.replace(/\/+$/, '') || '/') {
    case '/': case '/clusters': return <ClustersPage user={user} />;
    case '/roles': return <RolesPage />;
    case '/tokens': return <TokensPage />;
    case '/account': return <PasswordPage user={user} onChanged={props.onUserChanged} />;
    case '/users': return admin ? <UsersPage me={user} /> : <NotFound />;
    case '/providers': return admin ? <ProvidersPage /> : <NotFound />;
    case '/audit': return admin ? <AuditPage /> : <NotFound />;
    case '/settings': return <SettingsPage user={user} />;
    default: return <NotFound />;
  }
}

function NotFound() {
  return <section><h1>Page not found</h1><p>There is no page here. <Link href="/clusters">Go to the clusters</Link>.</p></section>;
}

function Nav(props: { user: User; path: string; onLogout: () => void }) {
  const [open, setOpen] = useState(false);
  const admin = props.user.globalRole === 'admin';
  const items: Array<[string, string]> = [
    ['/clusters', 'Clusters'], ['/roles', 'Roles'], ['/tokens', 'API tokens'],
    ...(admin ? [['/users', 'Users'], ['/providers', 'Auth providers'], ['/audit', 'Audit']] as Array<[string, string]> : []),
    ['/settings', 'Settings'], ['/account', 'Account'],
  ];
  const current = (href: string): boolean => props.path === href || (href === '/clusters' && (props.path === '/' || props.path.startsWith('/clusters/')));
  return (
    <header class="top">
      <a class="brand" href="/clusters" onClick={(e) => { e.preventDefault(); navigate('/clusters'); }}>Drover</a>
      <button type="button" class="menu secondary" aria-expanded={open} aria-controls="nav" onClick={() => setOpen(!open)}>Menu</button>
      <nav id="nav" class={open ? 'open' : ''} aria-label="Main">
        {items.map(([href, label]) => (
          <span key={href} onClick={() => setOpen(false)}>
            <Link href={href} class={current(href) ? 'current' : ''}>{label}</Link>
          </span>
        ))}
        <span class="who">{props.user.username}{admin ? ' (admin)' : ''}</span>
        <button type="button" class="secondary" onClick={props.onLogout}>Log out</button>
      </nav>
    </header>
  );
}

function App() {
  const path = usePath();
  const [user, setUser] = useState<User | undefined>(undefined);
  const [checked, setChecked] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const adopt = (session: Session): void => {
    setCsrfToken(session.csrfToken);
    setUser(session.user);
  };
  useEffect(() => {
    whenUnauthenticated(() => { setCsrfToken(undefined); setUser(undefined); });
    api<Session>('GET', '/v1/session').then(adopt)
      .catch((e: unknown) => { if (!(e instanceof ApiError && e.status === 401)) setError(describeError(e)); })
      .finally(() => setChecked(true));
  }, []);

  const logout = (): void => {
    api('DELETE', '/v1/session').catch(() => undefined).finally(() => {
      setCsrfToken(undefined);
      setUser(undefined);
      navigate('/');
    });
  };

  if (!checked) return <main><p class="muted" role="status">Loading…</p></main>;
  if (!user) return <LoginPage onLogin={adopt} initialError={error} />;
  if (user.mustChangePassword) {
    return <main class="narrow"><PasswordPage user={user} onChanged={setUser} forced /></main>;
  }
  return (
    <>
      <Nav user={user} path={path} onLogout={logout} />
      <main><Page path={path} user={user} onUserChanged={setUser} /></main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
