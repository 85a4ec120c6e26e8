/**
 * A stand-in for GitHub (as a GitHub Enterprise Server host: web at
 * `https://<host>`, REST at `https://<host>/api/v3`) for the GitHub provider
 * tests: HTTPS on loopback with a throwaway CA, exactly the documented endpoints
 * Drover calls, data the test changes at runtime. Each endpoint follows:
 *   GET  /login/oauth/authorize       docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
 *        ("1. Request a user's GitHub identity": client_id, redirect_uri, scope, state, allow_signup);
 *        here a sign-in form (field `login`) stands in for GitHub's login and approval pages
 *   POST /login/oauth/access_token    same page, "2. Users are redirected back to your site by GitHub": client_id,
 *        client_secret, code, redirect_uri; `Accept: application/json` answers JSON; a bad code is HTTP 200 with
 *        `{"error":"bad_verification_code"}`, bad credentials `{"error":"incorrect_client_credentials"}`
 *   GET  /api/v3/user                 docs.github.com/en/rest/users/users#get-the-authenticated-user
 *   GET  /api/v3/user/orgs            docs.github.com/en/rest/orgs/orgs#list-organizations-for-the-authenticated-user
 *   GET  /api/v3/user/teams           docs.github.com/en/rest/teams/teams#list-teams-for-the-authenticated-user
 *   GET  /api/v3/orgs/{org}/teams     docs.github.com/en/rest/teams/teams#list-teams
 *   GET  /api/v3/search/users         docs.github.com/en/rest/search/search#search-users (q, per_page; `in:login`)
 * Lists paginate with `per_page`/`page` and a `Link` header (rel="next", "last"),
 * docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api. A missing
 * or unknown token is 401 `{"message":"Bad credentials"}`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenHttps, throwawayTls } from './oidc-issuer.ts';

export interface StandinUser { id: number; login: string; name?: string; orgs: string[]; teams: string[] }
export interface StandinOrg { id: number; login: string }
export interface StandinTeam { id: number; org: string; slug: string; name: string }

export interface GitHubStandin {
  /** `127.0.0.1:<port>`: the provider config's `hostname`. */
  hostname: string;
  url: string;
  caPem: string;
  clientId: string;
  clientSecret: string;
  setUser(user: StandinUser): void;
  setOrg(org: StandinOrg): void;
  setTeam(team: StandinTeam): void;
  /** Revokes every token of a user (GitHub then answers 401). */
  revokeTokens(login: string): void;
  /** The largest page the stand-in serves (GitHub's is 100); small values exercise pagination. */
  setMaxPageSize(size: number): void;
  /** Requests seen, as `METHOD path` (no query). */
  requests(): string[];
  stop(): Promise<void>;
}

interface Code { login: string; clientId: string; redirectUri: string; expiresAt: number }

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) text += (chunk as Buffer).toString();
  if ((req.headers['content-type'] ?? '').includes('application/json')) return new URLSearchParams(JSON.parse(text) as Record<string, string>);
  return new URLSearchParams(text);
}

export async function startGitHubStandin(): Promise<GitHubStandin> {
  const tls = await throwawayTls();
  const { server, url, handle } = await listenHttps(tls);
  const clientId = `Iv1.${randomBytes(8).toString('hex')}`;
  const clientSecret = randomBytes(20).toString('hex');
  const users = new Map<string, StandinUser>();
  const orgs = new Map<string, StandinOrg>();
  const teams = new Map<string, StandinTeam>();
  const codes = new Map<string, Code>();
  const tokens = new Map<string, string>();
  const seen: string[] = [];
  let maxPageSize = 100;

  const paginate = (req: IncomingMessage, res: ServerResponse, path: URL, items: unknown[]): void => {
    const perPage = Math.min(Math.max(Number(path.searchParams.get('per_page') ?? 30) || 30, 1), maxPageSize);
    const page = Math.max(Number(path.searchParams.get('page') ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (n: number, rel: string): string => {
      const u = new URL(path.href);
      u.searchParams.set('per_page', String(perPage));
      u.searchParams.set('page', String(n));
      return `<${u.href}>; rel="${rel}"`;
    };
    const links = [...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []), ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : [])];
    send(res, 200, items.slice((page - 1) * perPage, page * perPage), links.length > 0 ? { link: links.join(', ') } : {});
  };
  const orgJson = (o: StandinOrg): unknown => ({ id: o.id, login: o.login, node_id: `O_${o.id}`, url: `${url}/api/v3/orgs/${o.login}` });
  const teamJson = (t: StandinTeam): unknown => ({ id: t.id, slug: t.slug, name: t.name, organization: orgs.has(t.org) ? orgJson(orgs.get(t.org)!) : { login: t.org } });
  const userJson = (u: StandinUser): unknown => ({ id: u.id, login: u.login, name: u.name ?? null, type: 'User' });

  const authorizePage = (res: ServerResponse, query: URLSearchParams): void => {
    if (query.get('client_id') !== clientId) { res.writeHead(404); res.end('unknown client_id'); return; }
    const hidden = ['client_id', 'redirect_uri', 'state', 'scope'].map((k) => `<input type="hidden" name="${k}" value="${(query.get(k) ?? '').replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`)}"/>`).join('');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><form action="/login/oauth/authorize" method="post">${hidden}<input name="login"/><button>Authorize</button></form>`);
  };
  const approve = (res: ServerResponse, form: URLSearchParams): void => {
    const login = form.get('login') ?? '';
    const redirectUri = form.get('redirect_uri') ?? '';
    if (form.get('client_id') !== clientId || !users.has(login) || !redirectUri.startsWith('https://')) { res.writeHead(400); res.end('bad sign-in'); return; }
    const code = randomBytes(10).toString('hex');
    codes.set(code, { login, clientId, redirectUri, expiresAt: Date.now() + 600_000 });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', form.get('state') ?? '');
    res.writeHead(302, { location: back.href });
    res.end();
  };
  const exchange = (res: ServerResponse, form: URLSearchParams): void => {
    if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) { send(res, 200, { error: 'incorrect_client_credentials' }); return; }
    const code = codes.get(form.get('code') ?? '');
    codes.delete(form.get('code') ?? '');
    if (!code || code.expiresAt < Date.now() || (form.has('redirect_uri') && form.get('redirect_uri') !== code.redirectUri)) {
      send(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      return;
    }
    const token = `gho_${randomBytes(18).toString('hex')}`;
    tokens.set(token, code.login);
    send(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:org,read:user' });
  };
  const api = (req: IncomingMessage, res: ServerResponse, path: URL): void => {
    const token = /^(?:Bearer|token) (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = token === undefined ? undefined : users.get(tokens.get(token) ?? '');
    const route = path.pathname.slice('/api/v3'.length);
    if (route === '/search/users') {
      const q = (path.searchParams.get('q') ?? '').replace(/\s*in:login\s*/, '').toLowerCase();
      const items = [...users.values()].filter((u) => u.login.toLowerCase().includes(q)).map(userJson);
      send(res, 200, { total_count: items.length, incomplete_results: false, items: items.slice(0, Number(path.searchParams.get('per_page') ?? 30)) });
      return;
    }
    if (!user) { send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' }); return; }
    if (route === '/user') { send(res, 200, userJson(user)); return; }
    // GET /user/{account_id} ("Get a user using their ID").
    const byId = /^\/user\/(\d+)$/.exec(route);
    if (byId) {
      const found = [...users.values()].find((u) => String(u.id) === byId[1]);
      if (found) send(res, 200, userJson(found)); else send(res, 404, { message: 'Not Found' });
      return;
    }
    if (route === '/user/orgs') { paginate(req, res, path, user.orgs.flatMap((o) => (orgs.has(o) ? [orgJson(orgs.get(o)!)] : []))); return; }
    if (route === '/user/teams') { paginate(req, res, path, user.teams.flatMap((t) => (teams.has(t) ? [teamJson(teams.get(t)!)] : []))); return; }
    const orgTeams = /^\/orgs\/([^/]+)\/teams$/.exec(route);
    if (orgTeams?.[1]) { paginate(req, res, path, [...teams.values()].filter((t) => t.org === decodeURIComponent(orgTeams[1] ?? '')).map(teamJson)); return; }
    send(res, 404, { message: 'Not Found' });
  };

  handle((req, res) => {
    const path = new URL(req.url ?? '/', url);
    seen.push(`${req.method} ${path.pathname}`);
    void (async () => {
      if (req.method === 'GET' && path.pathname === '/login/oauth/authorize') return authorizePage(res, path.searchParams);
      if (req.method === 'POST' && path.pathname === '/login/oauth/authorize') return approve(res, await readBody(req));
      if (req.method === 'POST' && path.pathname === '/login/oauth/access_token') return exchange(res, await readBody(req));
      if (req.method === 'GET' && path.pathname.startsWith('/api/v3/')) return api(req, res, path);
      send(res, 404, { message: 'Not Found' });
      return undefined;
    })().catch(() => { res.writeHead(500); res.end(); });
  });

  return {
    hostname: new URL(url).host, url, caPem: tls.caPem, clientId, clientSecret,
    setUser: (u) => { users.set(u.login, u); },
    setOrg: (o) => { orgs.set(o.login, o); },
    setTeam: (t) => { teams.set(`${t.org}/${t.slug}`, t); },
    revokeTokens: (login) => { for (const [token, owner] of tokens) if (owner === login) tokens.delete(token); },
    setMaxPageSize: (size) => { maxPageSize = size; },
    requests: () => [...seen],
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
