/**
 * The few GitHub REST calls Drover makes, with a user's OAuth token: one page
 * at a time, following `Link: rel="next"` only to the same API origin (the token
 * never goes anywhere else), and at most `maxPages` pages.
 *   GET /user, /user/{account_id}, /user/orgs, /user/teams, /search/users, /orgs/{org}/teams
 *   (docs.github.com/en/rest/users/users, /orgs/orgs, /teams/teams, /search/search)
 */
import { DroverError } from '../../../errors/index.ts';
import { isUnreachable, unavailable, type ProviderFetch } from '../redirect-fetch.ts';

export const maxPages = 50;

/** GitHub answered 401: the token was revoked, or the user or app is gone. */
export class GitHubTokenRejected extends DroverError {
  constructor() { super('DRV_ERR_UNAUTHENTICATED', 'GitHub refused the user\'s token (revoked, or the user or app was removed); log in again'); }
}

/** GitHub answered 404: no such user, organisation or team (or the token may not see it). Still "unavailable" for callers that do not ask. */
export class GitHubNotFound extends DroverError {
  constructor(path: string) { super('DRV_ERR_PROVIDER_UNAVAILABLE', `GitHub answered ${path} with HTTP 404; try again later`); }
}

/** The URL in a Link header's rel="next", if any. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /^\s*<([^>]+)>\s*;(.*)$/.exec(part);
    if (match?.[1] && /\brel="?next"?/.test(match[2] ?? '')) return match[1];
  }
  return undefined;
}

export class GitHubApi {
  constructor(private readonly base: string, private readonly fetch: ProviderFetch) {}

  async get<T>(path: string, token: string | undefined): Promise<T> {
    const { body } = await this.request(new URL(`${this.base}${path}`), token);
    return body as T;
  }

  /** Every item of a paginated list (100 per page). */
  async list<T>(path: string, token: string | undefined): Promise<T[]> {
    const items: T[] = [];
    let url: URL | undefined = new URL(`${this.base}${path}${path.includes('?') ? '&' : '?'}per_page=100`);
    for (let page = 0; url && page < maxPages; page += 1) {
      const { body, link } = await this.request(url, token);
      if (!Array.isArray(body)) throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `GitHub answered ${url.pathname} with something other than a list`);
      items.push(...(body as T[]));
      const next = nextLink(link);
      url = next === undefined ? undefined : this.sameOrigin(next);
    }
    return items;
  }

  private sameOrigin(link: string): URL {
    const url = new URL(link);
    if (url.origin !== new URL(this.base).origin) {
      throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', 'GitHub pagination pointed at another host; refusing to send the token there');
    }
    return url;
  }

  private async request(url: URL, token: string | undefined): Promise<{ body: unknown; link: string | null }> {
    let response: Response;
    try {
      response = await this.fetch(url, {
        headers: {
          accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'drover',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      });
    } catch (error) {
      throw isUnreachable(error) ? unavailable('GitHub', error) : error;
    }
    const text = await response.text();
    if (response.status === 401) throw new GitHubTokenRejected();
    if (response.status === 404) throw new GitHubNotFound(url.pathname);
    if (response.status !== 200) {
      throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `GitHub answered ${url.pathname} with HTTP ${response.status}; try again later`);
    }
    try {
      return { body: JSON.parse(text) as unknown, link: response.headers.get('link') };
    } catch {
      throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `GitHub answered ${url.pathname} with something other than JSON`);
    }
  }
}
