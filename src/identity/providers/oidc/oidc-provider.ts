/**
 * Generic OpenID Connect login on openid-client v6: discovery, authorization code
 * with PKCE (S256), state and nonce, and an ID token whose signature, `iss`,
 * `aud`, `exp` and `nonce` openid-client checks before we read a claim. The user
 * is `oidc_user://<sub>`; groups come from a configurable claim.
 *
 * Refresh: an OIDC issuer has no directory to ask. Drover keeps the groups of the
 * last login and answers `found` with them, unless the login gave a refresh token
 * (`offline_access` in the scopes): then each refresh runs the refresh grant, an
 * `invalid_grant` answer (user removed, session revoked) is `gone`, and groups in
 * the new ID token (or userinfo) replace the old ones.
 */
import * as oidc from 'openid-client';
import { DroverError } from '../../../errors/index.ts';
import type { Logger } from '../../../logging/index.ts';
import { KnownUsers } from '../known-users.ts';
import { isUnreachable, providerHttp, unavailable, type ProviderHttp } from '../redirect-fetch.ts';
import type { CredentialStore, Principal, RedirectProvider, RedirectStart, RefreshResult, VerifiedIdentity } from '../types.ts';
import { scopesOf, type OidcConfig } from './config.ts';
import { groupPrincipal, groupsFromClaim, userPrincipal } from './principals.ts';

/** The part of an openid-client error's cause that says which check failed (claim, expected value), without token contents. */
function describeCause(cause: unknown): string {
  if (cause instanceof Error) return ` (${cause.message})`;
  if (cause === null || typeof cause !== 'object') return '';
  const c = cause as { claim?: unknown; expected?: unknown; body?: unknown };
  if (typeof c.claim === 'string') return ` (claim ${c.claim})`;
  if (c.expected !== undefined && typeof c.expected === 'string') return ' (state mismatch)';
  return '';
}

export interface OidcProviderOptions {
  config: OidcConfig;
  logger: Logger;
  /** Overrides the HTTPS client (tests); by default undici with `config.caPem`. */
  http?: ProviderHttp;
  /** Where users' credentials are kept; in this process's memory by default (tests). */
  credentials?: CredentialStore;
}

type Claims = Record<string, unknown>;

export class OidcProvider implements RedirectProvider {
  readonly name = 'oidc' as const;
  readonly style = 'redirect' as const;
  private readonly config: OidcConfig;
  private readonly logger: Logger;
  private readonly http: ProviderHttp;
  private readonly known: CredentialStore;
  private discovered: Promise<oidc.Configuration> | undefined;

  constructor(options: OidcProviderOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.known = options.credentials ?? new KnownUsers();
    this.http = options.http ?? providerHttp(options.config.caPem === undefined ? {} : { caPem: options.config.caPem });
  }

  async startLogin(redirectUri: string): Promise<RedirectStart> {
    const configuration = await this.configuration();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri, response_type: 'code', scope: scopesOf(this.config).join(' '), state, nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
      // Without consent=prompt some issuers (oidc-provider among them) will not hand out a refresh token.
      ...(scopesOf(this.config).includes('offline_access') ? { prompt: 'consent' } : {}),
    });
    return { authorizeUrl: url.href, pending: { state, nonce, codeVerifier, redirectUri } };
  }

  async completeLogin(callbackUrl: URL, pending: RedirectStart['pending']): Promise<VerifiedIdentity> {
    if (pending.nonce === undefined || pending.codeVerifier === undefined) {
      throw new DroverError('DRV_ERR_INTERNAL', 'an OIDC login was started without a nonce or PKCE verifier');
    }
    const configuration = await this.configuration();
    const tokens = await this.call('sign-in', () => oidc.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: pending.codeVerifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true,
    }, { redirect_uri: pending.redirectUri }));
    const claims = tokens.claims();
    if (!claims) throw new DroverError('DRV_ERR_UNAUTHENTICATED', 'the OIDC issuer answered without an ID token; check that the client may use the openid scope');
    const identity = await this.identityFrom(configuration, claims, tokens.access_token, []);
    await this.known.save(identity, tokens.refresh_token);
    this.logger.info({ provider: 'oidc', groups: identity.groups.length }, 'oidc login verified');
    return identity;
  }

  /** An OIDC issuer has no standard user lookup: only users seen in a login (kept in the credential store) can be confirmed. */
  async confirmUser(userPrincipalId: string): Promise<RefreshResult> {
    const stored = await this.known.load(userPrincipalId);
    if (!stored) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', 'the OIDC issuer cannot be asked about a user Drover has not seen: the user must log in once through OIDC');
    }
    return { state: 'found', identity: stored.identity };
  }

  async refresh(userPrincipalId: string): Promise<RefreshResult> {
    const stored = await this.known.load(userPrincipalId);
    if (!stored) {
      throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', 'Drover has no OIDC session for this user; their groups stay as of their last login until they log in again');
    }
    const last = stored.identity;
    const refreshToken = stored.secret;
    if (refreshToken === undefined) return { state: 'found', identity: last };
    const configuration = await this.configuration();
    let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
    try {
      tokens = await oidc.refreshTokenGrant(configuration, refreshToken);
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant') {
        await this.known.forget(userPrincipalId);
        return { state: 'gone', reason: 'the OIDC issuer refused the refresh token (user removed or session revoked)' };
      }
      throw this.translate('refresh', error);
    }
    const claims = tokens.claims();
    if (claims && `oidc_user://${claims.sub}` !== userPrincipalId) {
      throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', 'the OIDC issuer answered a refresh with a different subject; groups were not changed');
    }
    // A refresh answer without an ID token keeps the user as last seen; groups may still come from userinfo.
    const identity = await this.identityFrom(configuration, claims ?? { sub: last.user.id.slice('oidc_user://'.length) }, tokens.access_token, last.groups, claims ? undefined : last.user);
    await this.known.save(identity, tokens.refresh_token);
    return { state: 'found', identity };
  }

  search(query: string, limit: number): Promise<Principal[]> {
    return this.known.search(query, limit);
  }

  async close(): Promise<void> { await this.http.close(); }

  /** The discovered issuer metadata; a failed discovery is retried on the next call. */
  private configuration(): Promise<oidc.Configuration> {
    this.discovered ??= this.call('discovery', async () => {
      const configuration = await oidc.discovery(new URL(this.config.issuer), this.config.clientId, { client_secret: this.config.clientSecret }, undefined, {
        [oidc.customFetch]: this.http.fetch,
      });
      configuration[oidc.customFetch] = this.http.fetch;
      // Also verify the ID token's signature against the issuer's JWKS (TLS alone is the spec's minimum).
      oidc.enableNonRepudiationChecks(configuration);
      return configuration;
    });
    this.discovered.catch(() => { this.discovered = undefined; });
    return this.discovered;
  }

  private async identityFrom(configuration: oidc.Configuration, claims: Claims & { sub: string }, accessToken: string, fallback: Principal[], previousUser?: Principal): Promise<VerifiedIdentity> {
    const claim = this.config.groupsClaim ?? 'groups';
    let names = groupsFromClaim(claims, claim);
    if (this.config.groupsFromUserinfo) {
      const info = await this.call('userinfo', () => oidc.fetchUserInfo(configuration, accessToken, claims.sub));
      names = groupsFromClaim(info, claim) ?? names;
    }
    const user = previousUser ?? userPrincipal(claims.sub, claims);
    return { user, groups: names === undefined ? fallback : names.map(groupPrincipal) };
  }

  private async call<T>(step: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.translate(step, error);
    }
  }

  /** Unreachable or 5xx: 502 PROVIDER_UNAVAILABLE. Anything the issuer or the checks refused: 401 with the reason. */
  private translate(step: string, error: unknown): DroverError {
    if (error instanceof DroverError) return error;
    if (isUnreachable(error) || (error instanceof oidc.ResponseBodyError && error.status >= 500)) {
      this.logger.warn({ provider: 'oidc', step, err: error }, 'oidc issuer unreachable');
      return unavailable('OIDC', error);
    }
    const detail = error instanceof oidc.ResponseBodyError || error instanceof oidc.AuthorizationResponseError
      ? `${error.error}${error.error_description ? `: ${error.error_description}` : ''}`
      : error instanceof Error ? `${error.message}${describeCause(error.cause)}` : String(error);
    this.logger.info({ provider: 'oidc', step, reason: detail }, 'oidc login refused');
    if (step === 'discovery') return new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `OIDC discovery at ${this.config.issuer} failed (${detail}); check the issuer URL`);
    return new DroverError('DRV_ERR_UNAUTHENTICATED', `the OIDC ${step} failed: ${detail}; start the login again`);
  }
}
