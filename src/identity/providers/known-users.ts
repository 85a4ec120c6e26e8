/**
 * What a redirect provider remembers about users who logged in through it: their
 * last verified identity and, encrypted, the credential that lets Drover ask the
 * provider again (a GitHub user token, an OIDC refresh token).
 *
 * `StoredKnownUsers` keeps them in the database (`provider_credentials`), the
 * secret sealed by the server's SecretBox with the provider and user principal as
 * associated data, so a restart or another replica refreshes the same users and a
 * row copied to another principal does not decrypt. `KnownUsers` is the same in
 * this process's memory (unit tests, throwaway instances). Nothing here is ever
 * read back from a client.
 */
import { randomBytes } from 'node:crypto';
import { createSecretBox, type SecretBox, type Store } from '../../store/index.ts';
import type { Logger } from '../../logging/index.ts';
import { boundPrincipalIds } from '../user-service.ts';
import type { CredentialStore, Principal, ProviderName, StoredCredential, VerifiedIdentity } from './types.ts';

/** Principals of these identities whose id, name or login contains `query` (case-insensitive), up to `limit`. */
function matching(identities: Iterable<VerifiedIdentity>, query: string, limit: number): Principal[] {
  const q = query.toLowerCase();
  const found = new Map<string, Principal>();
  for (const identity of identities) {
    for (const p of [identity.user, ...identity.groups]) {
      if (found.size >= limit) return [...found.values()];
      const names = [p.id, p.displayName, p.loginName ?? ''].map((s) => s.toLowerCase());
      if (names.some((s) => s.includes(q))) found.set(p.id, p);
    }
  }
  return [...found.values()];
}

interface Entry { identity: VerifiedIdentity; sealed?: string }

/** In this process's memory, under a key made at start: a restart forgets it. */
export class KnownUsers implements CredentialStore {
  private readonly users = new Map<string, Entry>();
  private readonly box: SecretBox;

  constructor(box: SecretBox = createSecretBox(randomBytes(32))) { this.box = box; }

  save(identity: VerifiedIdentity, secret?: string): Promise<void> {
    const id = identity.user.id;
    const previous = this.users.get(id);
    const sealed = secret === undefined ? previous?.sealed : this.box.encrypt(secret, id);
    // Newest last, so newestSecret finds the latest login.
    this.users.delete(id);
    this.users.set(id, { identity, ...(sealed === undefined ? {} : { sealed }) });
    return Promise.resolve();
  }

  load(userPrincipalId: string): Promise<StoredCredential | undefined> {
    const entry = this.users.get(userPrincipalId);
    if (!entry) return Promise.resolve(undefined);
    const secret = entry.sealed === undefined ? undefined : this.box.decrypt(entry.sealed, userPrincipalId);
    return Promise.resolve({ identity: entry.identity, ...(secret === undefined ? {} : { secret }) });
  }

  forget(userPrincipalId: string): Promise<void> {
    this.users.delete(userPrincipalId);
    return Promise.resolve();
  }

  newestSecret(): Promise<string | undefined> {
    for (const [id, entry] of [...this.users].reverse()) {
      if (entry.sealed !== undefined) return Promise.resolve(this.box.decrypt(entry.sealed, id));
    }
    return Promise.resolve(undefined);
  }

  search(query: string, limit: number): Promise<Principal[]> {
    return Promise.resolve(matching([...this.users.values()].map((e) => e.identity), query, limit));
  }
}

/** Associated data binding a sealed credential to its provider and user principal. */
export const credentialAad = (provider: ProviderName, principalId: string): string => `provider-credential/${provider}/${principalId}`;

/** In the database, shared by replicas and kept across restarts. */
export class StoredKnownUsers implements CredentialStore {
  private readonly store: Store;
  private readonly box: SecretBox;
  private readonly provider: ProviderName;
  private readonly logger: Logger;
  private readonly clock: () => number;

  constructor(options: { store: Store; box: SecretBox; provider: ProviderName; logger: Logger; clock?: () => number }) {
    this.store = options.store;
    this.box = options.box;
    this.provider = options.provider;
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
  }

  async save(identity: VerifiedIdentity, secret?: string): Promise<void> {
    const id = identity.user.id;
    const now = new Date(this.clock()).toISOString();
    const sealed = secret === undefined ? undefined : this.box.encrypt(secret, credentialAad(this.provider, id));
    const values = { principal_id: id, provider: this.provider, identity: JSON.stringify(identity), updated_at: now };
    await this.store.db.insertInto('provider_credentials').values({ ...values, secret: sealed ?? null })
      .onConflict((oc) => oc.column('principal_id').doUpdateSet(sealed === undefined ? values : { ...values, secret: sealed }))
      .execute();
  }

  async load(userPrincipalId: string): Promise<StoredCredential | undefined> {
    const row = await this.store.db.selectFrom('provider_credentials').select(['identity', 'secret'])
      .where('principal_id', '=', userPrincipalId).where('provider', '=', this.provider).executeTakeFirst();
    if (!row) return undefined;
    const secret = row.secret === null ? undefined : this.open(userPrincipalId, row.secret);
    return { identity: JSON.parse(row.identity) as VerifiedIdentity, ...(secret === undefined ? {} : { secret }) };
  }

  async forget(userPrincipalId: string): Promise<void> {
    await this.store.db.deleteFrom('provider_credentials').where('principal_id', '=', userPrincipalId).where('provider', '=', this.provider).execute();
  }

  async newestSecret(): Promise<string | undefined> {
    const rows = await this.store.db.selectFrom('provider_credentials').select(['principal_id', 'secret'])
      .where('provider', '=', this.provider).where('secret', 'is not', null).orderBy('updated_at', 'desc').limit(5).execute();
    for (const row of rows) {
      const secret = row.secret === null ? undefined : this.open(row.principal_id, row.secret);
      if (secret !== undefined) return secret;
    }
    return undefined;
  }

  async search(query: string, limit: number): Promise<Principal[]> {
    const rows = await this.store.db.selectFrom('provider_credentials').select('identity')
      .where('provider', '=', this.provider).orderBy('updated_at', 'desc').limit(5000).execute();
    return matching(rows.map((r) => JSON.parse(r.identity) as VerifiedIdentity), query, limit);
  }

  /** A value that does not decrypt (another key, tampered, copied to another principal) reads as absent: the user logs in again. */
  private open(principalId: string, sealed: string): string | undefined {
    try {
      return this.box.decrypt(sealed, credentialAad(this.provider, principalId));
    } catch (error) {
      this.logger.warn({ provider: this.provider, err: error }, 'a stored provider credential does not decrypt; ignored');
      return undefined;
    }
  }
}

/** Deletes every stored credential of a provider (it was disabled: its users log in again). */
export async function forgetProviderCredentials(store: Store, provider: ProviderName): Promise<number> {
  const result = await store.db.deleteFrom('provider_credentials').where('provider', '=', provider).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Deletes credentials whose user principal no longer belongs to a Drover user
 * (the user was deleted, a login was refused, a test login), last saved before
 * `olderThan` (ISO time) so a first login in progress keeps its row.
 */
export async function forgetOrphanCredentials(store: Store, olderThan: string): Promise<number> {
  const result = await store.db.deleteFrom('provider_credentials')
    .where('updated_at', '<', olderThan)
    .where('provider_credentials.principal_id', 'not in', boundPrincipalIds(store.db))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
