/**
 * Provider settings and live instances. An admin configures a provider (secret
 * fields encrypted through the SecretBox, never returned), tests a login with
 * exactly that configuration, and only then may enable it: `config_digest`
 * covers the whole configuration, secrets included, and enabling requires the
 * last successful test to have been made with the same digest, so nothing
 * untested ever serves logins. Disabling revokes the tokens of every user of
 * the provider at once.
 *
 * A changed configuration of an enabled provider is stored as pending: the
 * current one keeps serving (nobody is logged out), test logins use the pending
 * one, and `enable` promotes it once it passed a test login.
 */
import type { ChangePublisher } from '../../coordination/index.ts';
import { createHash } from 'node:crypto';
import { Compile } from 'typebox/compile';
import type { Selectable } from 'kysely';
import type { AuthProvidersTable, Store } from '../../store/index.ts';
import type { SecretBox } from '../../store/index.ts';
import { DroverError } from '../../errors/index.ts';
import type { Logger } from '../../logging/index.ts';
import type { Identity } from '../identity.ts';
import type { User } from '../types.ts';
import type { LoginInput, LoginResult } from '../local-login.ts';
import { providerCatalog } from './catalog.ts';
import { ExternalLogin, isAllowed, type AccessPolicy, type CompleteExternalLogin } from './external-login.ts';
import { KnownUsers, StoredKnownUsers, forgetProviderCredentials } from './known-users.ts';
import type { AccessMode, AuthProvider, LoginStyle, Principal, ProviderDefinition, ProviderDeps, ProviderName, VerifiedIdentity } from './types.ts';

export interface ProviderView {
  name: ProviderName;
  style: LoginStyle;
  displayName: string;
  configured: boolean;
  enabled: boolean;
  accessMode: AccessMode;
  allowedPrincipals: string[];
  /** The configuration without its secret fields. */
  config: Record<string, unknown>;
  /** Secret fields that hold a value (the values are never returned). */
  secretsSet: string[];
  /** Whether the current configuration passed a test login. */
  tested: boolean;
  testedAt?: string;
  updatedAt?: string;
  /** A changed configuration of the enabled provider, not serving until tested and promoted by enable. */
  pending?: PendingView;
}

export interface PendingView {
  accessMode: AccessMode;
  allowedPrincipals: string[];
  config: Record<string, unknown>;
  tested: boolean;
  testedAt?: string;
  updatedAt: string;
}

/** `auth_providers.pending` as stored. */
interface Pending {
  config: Record<string, unknown>;
  digest: string;
  accessMode: AccessMode;
  allowedPrincipals: string[];
  testedDigest?: string;
  testedAt?: string;
  updatedAt: string;
}

const pendingOf = (row: Row | undefined): Pending | undefined => (row?.pending ? JSON.parse(row.pending) as Pending : undefined);

export interface ConfigureInput {
  config: Record<string, unknown>;
  accessMode?: AccessMode;
  allowedPrincipals?: string[];
}

/** What the API context and O's redirect routes use. */
export interface ProvidersApi {
  /** The live instance of an enabled provider: 404 unknown or not configured, 409 not enabled. */
  get(name: string): Promise<AuthProvider>;
  /** An instance built from the configuration under test (the pending one if any, else the current one), enabled or not. */
  getForTest(name: string): Promise<AuthProvider>;
  /** Records that a test login with the current configuration succeeded (redirect providers; password providers use test()). */
  recordTestLogin(name: string): Promise<void>;
  completeLogin: CompleteExternalLogin;
  passwordLogin(provider: string, input: LoginInput): Promise<LoginResult>;
}

/** What adding a member by principal needs (the access API): the Drover user of a provider user principal. */
export interface UsersByPrincipal {
  /** The user bound to the principal, created (no tokens) once its enabled provider confirms it; see ProviderService. */
  ensureUserForPrincipal(principalId: string): Promise<User>;
  /** The user bound to the principal, if any; never asks a provider, never creates. */
  findUserByPrincipal(principalId: string): Promise<User | undefined>;
}

/** A principal search hit: a provider's user or group, or a local user (`local://u-…`). */
export type FoundPrincipal = Omit<Principal, 'provider'> & { provider: ProviderName | 'local' };

interface Row extends Selectable<AuthProvidersTable> { name: ProviderName }

const digestOf = (name: string, config: Record<string, unknown>): string =>
  createHash('sha256').update(`${name}\n${canonicalJson(config)}`).digest('hex');

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const secretName = (name: string): string => `provider/${name}`;
const pendingSecretName = (name: string): string => `provider-pending/${name}`;

export function definitionOf(name: string): ProviderDefinition {
  const definition = (providerCatalog as Partial<Record<string, ProviderDefinition>>)[name];
  if (!definition) throw new DroverError('DRV_ERR_NOT_FOUND', `no auth provider "${name}"; known: ${Object.keys(providerCatalog).join(', ')}`);
  return definition;
}

/** Checks a configuration against the provider's closed schema; 422 with the first problem. */
export function validateConfig(definition: ProviderDefinition, config: unknown): void {
  const validator = Compile(definition.configSchema);
  if (validator.Check(config)) return;
  const first = validator.Errors(config)[0] as { instancePath?: string; message?: string } | undefined;
  throw new DroverError('DRV_ERR_UNPROCESSABLE', `${definition.name} config${first?.instancePath ? ` ${first.instancePath}` : ''}: ${first?.message ?? 'does not match the schema'}`);
}

export class ProviderService implements ProvidersApi, UsersByPrincipal {
  private readonly store: Store;
  private readonly secrets: SecretBox;
  private readonly identity: Identity;
  private readonly logger: Logger;
  private readonly publicUrl: string;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  readonly external: ExternalLogin;
  private readonly live = new Map<ProviderName, { digest: string; provider: AuthProvider }>();
  private readonly testing = new Map<ProviderName, { digest: string; provider: AuthProvider }>();

  private readonly changes: ChangePublisher | undefined;

  constructor(options: {
    store: Store; secrets: SecretBox; identity: Identity; logger: Logger; publicUrl: string; clock?: () => number;
    sleep?: (ms: number) => Promise<void>;
    /** Where a disable or a promotion is published for other replicas (the change feed). */
    changes?: ChangePublisher;
  }) {
    this.changes = options.changes;
    this.store = options.store;
    this.secrets = options.secrets;
    this.identity = options.identity;
    this.logger = options.logger;
    this.publicUrl = options.publicUrl;
    this.clock = options.clock ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.external = new ExternalLogin({
      store: options.store, tokens: options.identity.tokens, invalidator: options.identity.authenticator, clock: this.clock,
      policyOf: (name) => this.policyOf(name), announce: (user) => options.identity.users.announce(user),
    });
  }

  private now(): string { return new Date(this.clock()).toISOString(); }

  private async row(name: ProviderName): Promise<Row | undefined> {
    return await this.store.db.selectFrom('auth_providers').selectAll().where('name', '=', name).executeTakeFirst() as Row | undefined;
  }

  private async fullConfig(row: Row): Promise<Record<string, unknown>> {
    return { ...JSON.parse(row.config) as Record<string, unknown>, ...await this.storedSecrets(secretName(row.name)) };
  }

  private async pendingFullConfig(row: Row, pending: Pending): Promise<Record<string, unknown>> {
    return { ...pending.config, ...await this.storedSecrets(pendingSecretName(row.name)) };
  }

  private async storedSecrets(name: string): Promise<Record<string, unknown>> {
    const secret = await this.store.db.selectFrom('secrets').select('ciphertext').where('name', '=', name).executeTakeFirst();
    return secret ? JSON.parse(this.secrets.decrypt(secret.ciphertext, name)) as Record<string, unknown> : {};
  }

  private view(definition: ProviderDefinition, row: Row | undefined, secretsSet: string[]): ProviderView {
    const pending = pendingOf(row);
    return {
      name: definition.name, style: definition.style, displayName: definition.displayName, configured: row !== undefined,
      enabled: row?.enabled === 1, accessMode: row?.access_mode ?? 'unrestricted',
      allowedPrincipals: row ? JSON.parse(row.allowed_principals) as string[] : [],
      config: row ? JSON.parse(row.config) as Record<string, unknown> : {}, secretsSet,
      tested: row !== undefined && row.tested_digest === row.config_digest,
      ...(row?.tested_at ? { testedAt: row.tested_at } : {}), ...(row ? { updatedAt: row.updated_at } : {}),
      ...(pending ? {
        pending: {
          accessMode: pending.accessMode, allowedPrincipals: pending.allowedPrincipals, config: pending.config,
          tested: pending.testedDigest === pending.digest, ...(pending.testedAt ? { testedAt: pending.testedAt } : {}), updatedAt: pending.updatedAt,
        },
      } : {}),
    };
  }

  async list(): Promise<ProviderView[]> {
    const rows = new Map((await this.store.db.selectFrom('auth_providers').selectAll().execute()).map((r) => [r.name, r as Row]));
    const out: ProviderView[] = [];
    for (const definition of Object.values<ProviderDefinition>(providerCatalog)) {
      const row = rows.get(definition.name);
      out.push(this.view(definition, row, row ? await this.secretsSet(definition, row) : []));
    }
    return out;
  }

  private async secretsSet(definition: ProviderDefinition, row: Row): Promise<string[]> {
    const full = await this.fullConfig(row);
    return definition.secretFields.filter((f) => full[f] !== undefined && full[f] !== '');
  }

  /** Enabled providers for the login page and the CLI: no configuration, no secrets. */
  async publicList(): Promise<Array<{ name: ProviderName; style: LoginStyle; displayName: string }>> {
    const rows = await this.store.db.selectFrom('auth_providers').select(['name', 'config']).where('enabled', '=', 1).orderBy('name').execute();
    return rows.flatMap((r) => {
      const d = (providerCatalog as Partial<Record<string, ProviderDefinition>>)[r.name];
      // A config may name the button ("Company SSO"); the catalog's name otherwise.
      const configured = (JSON.parse(r.config) as { displayName?: unknown }).displayName;
      return d ? [{ name: d.name, style: d.style, displayName: typeof configured === 'string' ? configured : d.displayName }] : [];
    });
  }

  async policyOf(name: ProviderName): Promise<AccessPolicy> {
    const row = await this.row(name);
    return {
      enabled: row?.enabled === 1, accessMode: row?.access_mode ?? 'unrestricted',
      allowedPrincipals: row ? JSON.parse(row.allowed_principals) as string[] : [],
    };
  }

  /**
   * Stores a configuration. Secret fields left out keep their stored value. A changed configuration needs a new test:
   * for an enabled provider it is stored as pending (the current one keeps serving) until tested and promoted by enable.
   */
  async configure(name: string, input: ConfigureInput): Promise<ProviderView> {
    const definition = definitionOf(name);
    const row = await this.row(definition.name);
    const pendingBefore = pendingOf(row);
    // Secret fields left out keep the value of the configuration being edited: the pending one if any.
    const previous = row ? (pendingBefore ? await this.pendingFullConfig(row, pendingBefore) : await this.fullConfig(row)) : {};
    const config: Record<string, unknown> = { ...input.config };
    for (const field of definition.secretFields) if (config[field] === undefined && previous[field] !== undefined) config[field] = previous[field];
    validateConfig(definition, config);
    // Semantic checks (URL schemes, PEM parsing) live in create(); it must not connect.
    await definition.create(config, this.deps(definition.name)).close();
    const accessMode = input.accessMode ?? pendingBefore?.accessMode ?? row?.access_mode ?? 'unrestricted';
    const allowed = input.allowedPrincipals ?? pendingBefore?.allowedPrincipals ?? (row ? JSON.parse(row.allowed_principals) as string[] : []);
    const foreign = allowed.find((p) => !p.startsWith(`${definition.name}_`) || !/^[a-z]+_(user|group|team|org):\/\/./.test(p));
    if (foreign !== undefined) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `allowedPrincipals: ${JSON.stringify(foreign.slice(0, 80))} is not a ${definition.name} user or group principal (find ids with "drover principals search")`);
    }
    if (accessMode === 'restricted' && allowed.length === 0) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', 'accessMode "restricted" needs allowedPrincipals (user or group principal ids)');
    }
    const digest = digestOf(definition.name, config);
    const plain: Record<string, unknown> = {};
    const secret: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) (definition.secretFields.includes(k) ? secret : plain)[k] = v;
    const now = this.now();
    if (row?.enabled === 1 && row.config_digest !== digest) return this.configurePending(definition, row, { plain, secret, digest, accessMode, allowed, now });
    const values = {
      name: definition.name, enabled: row?.enabled ?? 0, access_mode: accessMode, allowed_principals: JSON.stringify(allowed),
      config: JSON.stringify(plain), config_digest: digest, tested_digest: row?.tested_digest ?? null, tested_at: row?.tested_at ?? null, updated_at: now,
      // Configuring the current settings again (or a disabled provider) discards a pending configuration.
      pending: null,
    };
    const ciphertext = this.secrets.encrypt(JSON.stringify(secret), secretName(definition.name));
    await this.store.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('auth_providers').where('name', '=', definition.name).execute();
      await trx.insertInto('auth_providers').values(values).execute();
      await trx.deleteFrom('secrets').where('name', '=', secretName(definition.name)).execute();
      await trx.insertInto('secrets').values({ name: secretName(definition.name), ciphertext, updated_at: now }).execute();
      await trx.deleteFrom('secrets').where('name', '=', pendingSecretName(definition.name)).execute();
    });
    this.logger.info({ provider: definition.name, accessMode }, 'auth provider configured');
    return this.view(definition, values, definition.secretFields.filter((f) => secret[f] !== undefined && secret[f] !== ''));
  }

  /** A changed configuration of an enabled provider: stored beside the current one, which keeps serving. */
  private async configurePending(definition: ProviderDefinition, row: Row, input: {
    plain: Record<string, unknown>; secret: Record<string, unknown>; digest: string; accessMode: AccessMode; allowed: string[]; now: string;
  }): Promise<ProviderView> {
    const before = pendingOf(row);
    const pending: Pending = {
      config: input.plain, digest: input.digest, accessMode: input.accessMode, allowedPrincipals: input.allowed, updatedAt: input.now,
      // Re-sending the same pending configuration keeps its test.
      ...(before?.digest === input.digest && before.testedDigest !== undefined ? { testedDigest: before.testedDigest } : {}),
      ...(before?.digest === input.digest && before.testedAt !== undefined ? { testedAt: before.testedAt } : {}),
    };
    const name = pendingSecretName(definition.name);
    const ciphertext = this.secrets.encrypt(JSON.stringify(input.secret), name);
    await this.store.db.transaction().execute(async (trx) => {
      await trx.updateTable('auth_providers').set({ pending: JSON.stringify(pending) }).where('name', '=', definition.name).execute();
      await trx.deleteFrom('secrets').where('name', '=', name).execute();
      await trx.insertInto('secrets').values({ name, ciphertext, updated_at: input.now }).execute();
    });
    this.logger.info({ provider: definition.name, accessMode: input.accessMode }, 'auth provider configuration stored as pending; the current one keeps serving');
    return this.view(definition, { ...row, pending: JSON.stringify(pending) }, await this.secretsSet(definition, row));
  }

  /** `stored`: users' credentials go to the database (live instances); otherwise they stay in memory (test logins, validation). */
  private deps(name: ProviderName, stored = false): ProviderDeps {
    const logger = this.logger.child({ provider: name });
    const credentials = stored ? new StoredKnownUsers({ store: this.store, box: this.secrets, provider: name, logger, clock: this.clock }) : new KnownUsers();
    return { logger, publicUrl: this.publicUrl, credentials };
  }

  private async configured(name: string): Promise<{ definition: ProviderDefinition; row: Row }> {
    const definition = definitionOf(name);
    const row = await this.row(definition.name);
    if (!row) throw new DroverError('DRV_ERR_NOT_FOUND', `auth provider "${name}" is not configured: run "drover providers configure ${name} -f FILE"`);
    return { definition, row };
  }

  /** A test login for a password provider with the stored configuration; records success for that exact configuration. */
  async test(name: string, credentials: { username: string; password: string }): Promise<VerifiedIdentity> {
    const { definition, row } = await this.configured(name);
    if (definition.style !== 'password') {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `${name} logs in through the browser: open /v1/auth/${name}/login?purpose=test as an admin`);
    }
    const pending = pendingOf(row);
    const provider = definition.create(pending ? await this.pendingFullConfig(row, pending) : await this.fullConfig(row), this.deps(definition.name));
    try {
      if (provider.style !== 'password') throw new DroverError('DRV_ERR_INTERNAL', `${name} is not a password provider`);
      const identity = await provider.authenticate(credentials.username, credentials.password);
      await this.markTested(definition.name, pending?.digest ?? row.config_digest);
      return identity;
    } finally {
      await provider.close();
    }
  }

  async recordTestLogin(name: string): Promise<void> {
    const { definition, row } = await this.configured(name);
    await this.markTested(definition.name, pendingOf(row)?.digest ?? row.config_digest);
  }

  /** Records a successful test of the configuration with this digest: the pending one if it is that, else the current one. */
  private async markTested(name: ProviderName, digest: string): Promise<void> {
    const row = await this.row(name);
    const pending = pendingOf(row);
    if (row?.pending && pending?.digest === digest) {
      const tested: Pending = { ...pending, testedDigest: digest, testedAt: this.now() };
      // Only if the pending configuration is still the one tested.
      await this.store.db.updateTable('auth_providers').set({ pending: JSON.stringify(tested) }).where('name', '=', name).where('pending', '=', row.pending).execute();
    } else {
      await this.store.db.updateTable('auth_providers').set({ tested_digest: digest, tested_at: this.now() })
        .where('name', '=', name).where('config_digest', '=', digest).execute();
    }
    this.logger.info({ provider: name, pending: pending?.digest === digest }, 'auth provider test login succeeded');
  }

  async enable(name: string): Promise<ProviderView> {
    const { definition, row } = await this.configured(name);
    const pending = pendingOf(row);
    if (row.pending && pending) return this.promote(definition, row, row.pending, pending);
    if (row.tested_digest !== row.config_digest) {
      throw new DroverError('DRV_ERR_CONFLICT', `${name}: the current configuration has not passed a test login; run "drover providers test ${name}" first`);
    }
    await this.store.db.updateTable('auth_providers').set({ enabled: 1, updated_at: this.now() })
      .where('name', '=', definition.name).where('config_digest', '=', row.config_digest).execute();
    this.logger.info({ provider: definition.name }, 'auth provider enabled');
    return this.view(definition, { ...row, enabled: 1 }, await this.secretsSet(definition, row));
  }

  /** Makes a tested pending configuration the current one; users stay logged in, the live instance is rebuilt on next use. */
  private async promote(definition: ProviderDefinition, row: Row, stored: string, pending: Pending): Promise<ProviderView> {
    const name = definition.name;
    if (pending.testedDigest !== pending.digest) {
      throw new DroverError('DRV_ERR_CONFLICT', `${name}: the pending configuration has not passed a test login; run "drover providers test ${name}" first (the current configuration keeps serving meanwhile)`);
    }
    const secrets = await this.storedSecrets(pendingSecretName(name));
    const now = this.now();
    const values = {
      enabled: 1, access_mode: pending.accessMode, allowed_principals: JSON.stringify(pending.allowedPrincipals), config: JSON.stringify(pending.config),
      config_digest: pending.digest, tested_digest: pending.digest, tested_at: pending.testedAt ?? now, updated_at: now, pending: null,
    };
    const ciphertext = this.secrets.encrypt(JSON.stringify(secrets), secretName(name));
    const promoted = await this.store.db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('auth_providers').set(values).where('name', '=', name).where('pending', '=', stored).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await trx.deleteFrom('secrets').where('name', 'in', [secretName(name), pendingSecretName(name)]).execute();
      await trx.insertInto('secrets').values({ name: secretName(name), ciphertext, updated_at: now }).execute();
      return true;
    });
    if (!promoted) throw new DroverError('DRV_ERR_CONFLICT', `${name}: the pending configuration changed meanwhile; test it again, then enable`);
    this.changes?.publish({ table: 'auth_providers', key: name });
    this.logger.info({ provider: name, accessMode: pending.accessMode }, 'auth provider pending configuration promoted; its users stay logged in');
    const next = { ...row, ...values } as Row;
    return this.view(definition, next, await this.secretsSet(definition, next));
  }

  /** Stops logins through the provider and revokes every token of its users. */
  async disable(name: string): Promise<ProviderView> {
    const { definition, row } = await this.configured(name);
    // A pending configuration goes too: configuring a disabled provider changes it directly.
    await this.store.db.transaction().execute(async (trx) => {
      await trx.updateTable('auth_providers').set({ enabled: 0, pending: null, updated_at: this.now() }).where('name', '=', definition.name).execute();
      await trx.deleteFrom('secrets').where('name', '=', pendingSecretName(definition.name)).execute();
    });
    const users = await this.store.db.selectFrom('user_principals').select('user_id').where('provider', '=', definition.name).execute();
    const fromTokens = await this.store.db.selectFrom('tokens').select('user_id').where('auth_provider', '=', definition.name).execute();
    const revoked = await this.external.revokeTokens([...users, ...fromTokens].map((u) => u.user_id));
    const forgotten = await forgetProviderCredentials(this.store, definition.name);
    await this.dropLive(definition.name);
    this.changes?.publish({ table: 'auth_providers', key: definition.name });
    this.logger.info({ provider: definition.name, revokedTokens: revoked, forgottenCredentials: forgotten }, 'auth provider disabled; its users\' tokens revoked');
    return this.view(definition, { ...row, enabled: 0, pending: null }, await this.secretsSet(definition, row));
  }

  /**
   * Another replica disabled the provider or promoted a new configuration: the live
   * instance built from the old one (and its connections) goes; the next use builds
   * it again from the row. Rows are read on every use, so this frees resources; it
   * decides nothing.
   */
  async forget(name: string): Promise<void> {
    const definition = (providerCatalog as Partial<Record<string, ProviderDefinition>>)[name];
    if (definition) await this.dropLive(definition.name);
  }

  private async dropLive(name: ProviderName): Promise<void> {
    for (const map of [this.live, this.testing]) {
      const entry = map.get(name);
      map.delete(name);
      if (entry) await entry.provider.close().catch(() => undefined);
    }
  }

  private async instance(
    map: Map<ProviderName, { digest: string; provider: AuthProvider }>, definition: ProviderDefinition, row: Row, pending?: Pending,
  ): Promise<AuthProvider> {
    const digest = pending?.digest ?? row.config_digest;
    const current = map.get(definition.name);
    if (current !== undefined && current.digest === digest) return current.provider;
    const config = pending ? await this.pendingFullConfig(row, pending) : await this.fullConfig(row);
    const provider = definition.create(config, this.deps(definition.name, map === this.live));
    map.set(definition.name, { digest, provider });
    if (current) await current.provider.close().catch(() => undefined);
    return provider;
  }

  async get(name: string): Promise<AuthProvider> {
    const { definition, row } = await this.configured(name);
    if (row.enabled !== 1) throw new DroverError('DRV_ERR_CONFLICT', `auth provider "${name}" is not enabled`);
    return this.instance(this.live, definition, row);
  }

  async getForTest(name: string): Promise<AuthProvider> {
    const { definition, row } = await this.configured(name);
    // A pending configuration is what a test login tests.
    return this.instance(this.testing, definition, row, pendingOf(row));
  }

  /** Every enabled provider with its live instance and access policy (the refresher, principal search). */
  async enabledProviders(): Promise<Array<{ name: ProviderName; provider: AuthProvider; policy: AccessPolicy }>> {
    const rows = await this.store.db.selectFrom('auth_providers').selectAll().where('enabled', '=', 1).orderBy('name').execute() as Row[];
    const out: Array<{ name: ProviderName; provider: AuthProvider; policy: AccessPolicy }> = [];
    for (const row of rows) {
      const definition = (providerCatalog as Partial<Record<string, ProviderDefinition>>)[row.name];
      if (!definition) continue;
      try {
        out.push({
          name: definition.name, provider: await this.instance(this.live, definition, row),
          policy: { enabled: true, accessMode: row.access_mode, allowedPrincipals: JSON.parse(row.allowed_principals) as string[] },
        });
      } catch (error) {
        // One unusable provider (a secret that no longer decrypts) must not stop the others.
        this.logger.error({ provider: definition.name, err: error }, 'cannot load an enabled auth provider');
      }
    }
    return out;
  }

  readonly completeLogin: CompleteExternalLogin = (provider, identity, meta) => this.external.complete(provider, identity, meta);

  /** POST /v1/login and /v1/session for LDAP and AD: throttled like local logins, then completeExternalLogin. */
  async passwordLogin(providerName: string, input: LoginInput): Promise<LoginResult> {
    const definition = (providerCatalog as Partial<Record<string, ProviderDefinition>>)[providerName];
    const row = definition ? await this.row(definition.name) : undefined;
    if (!definition || row?.enabled !== 1) throw new DroverError('DRV_ERR_UNPROCESSABLE', `auth provider "${providerName}" is not enabled on this server`);
    if (definition.style !== 'password') {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `${providerName} logs in through the browser: run "drover login URL --provider ${providerName}" without a password`);
    }
    const throttleKey = `${definition.name}:${input.username}`;
    const delay = this.identity.throttle.check(throttleKey, input.address);
    if (delay > 0) await this.sleep(delay);
    const provider = await this.instance(this.live, definition, row);
    if (provider.style !== 'password') throw new DroverError('DRV_ERR_INTERNAL', `${providerName} is not a password provider`);
    let identity: VerifiedIdentity;
    try {
      identity = await provider.authenticate(input.username, input.password);
    } catch (error) {
      if (error instanceof DroverError && error.code === 'DRV_ERR_UNAUTHENTICATED') {
        this.identity.throttle.recordFailure(throttleKey, input.address);
        this.logger.info({ provider: definition.name, address: input.address }, 'provider login failed');
      }
      throw error;
    }
    this.identity.throttle.recordSuccess(throttleKey);
    const result = await this.completeLogin(definition.name, identity, {
      address: input.address, ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.ttlSeconds === undefined ? {} : { ttlSeconds: input.ttlSeconds }),
    });
    this.logger.info({ provider: definition.name, userId: result.user.id, tokenId: result.token.id }, 'provider login succeeded');
    return result;
  }

  /**
   * The Drover user of a provider user principal (`openldap_user://<dn>`,
   * `github_user://<id>`, `oidc_user://<sub>`), for adding a member before their
   * first login. An existing binding in `user_principals` wins; otherwise the
   * principal's provider must be enabled and confirm the user (LDAP and AD look it
   * up through the service account; GitHub asks its API with a stored token; OIDC
   * knows only users it has seen), and the user is created the way a first login
   * creates one (username from the login name, same clash rule) with no tokens.
   * Their first login then finds this user by the same principal. `local://` and
   * group principals are refused: they name no provider user.
   */
  async ensureUserForPrincipal(principalId: string): Promise<User> {
    const name = this.userPrincipalProvider(principalId);
    const existing = await this.external.findByPrincipal(principalId);
    if (existing) return existing;
    const definition = (providerCatalog as Partial<Record<string, ProviderDefinition>>)[name];
    const row = definition ? await this.row(definition.name) : undefined;
    if (!definition || row?.enabled !== 1) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `auth provider "${name}" is not enabled on this server: enable it before adding its users ("drover providers enable ${name}")`);
    }
    const provider = await this.instance(this.live, definition, row);
    const answer = await provider.confirmUser(principalId);
    if (answer.state === 'gone') {
      throw new DroverError('DRV_ERR_NOT_FOUND', `${name} has no such user (${answer.reason}); check the principal with "drover principals search"`);
    }
    const user = await this.external.ensureUser(definition.name, answer.identity);
    // A restricted provider may still refuse this user's login; the member binding is harmless until then.
    const mayLogIn = isAllowed(await this.policyOf(definition.name), answer.identity);
    this.logger.info({ provider: definition.name, userId: user.id, mayLogIn }, 'user added by principal before their first login');
    return user;
  }

  async findUserByPrincipal(principalId: string): Promise<User | undefined> {
    this.userPrincipalProvider(principalId);
    return this.external.findByPrincipal(principalId);
  }

  /** The provider name of `<provider>_user://<id>`; 422 for anything else. */
  private userPrincipalProvider(principalId: string): string {
    if (principalId.startsWith('local://')) {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', 'a local:// principal names an existing local user: give their username or id instead');
    }
    const match = /^([a-z]+)_user:\/\/./.exec(principalId);
    if (!match?.[1]) throw new DroverError('DRV_ERR_UNPROCESSABLE', `not a provider user principal: expected <provider>_user://<id> (e.g. openldap_user://<dn>), got ${JSON.stringify(principalId.slice(0, 80))}`);
    return match[1];
  }

  /** Local users and every enabled provider's users and groups whose name matches; an unreachable provider is skipped and logged. */
  async search(query: string, limit: number): Promise<FoundPrincipal[]> {
    const q = query.toLowerCase();
    const locals = (await this.identity.users.list())
      .filter((u) => u.username.toLowerCase().includes(q) || u.displayName.toLowerCase().includes(q))
      .slice(0, limit)
      .map((u) => ({ id: `local://${u.id}`, kind: 'user' as const, provider: 'local' as const, displayName: u.displayName, loginName: u.username }));
    const out: FoundPrincipal[] = [...locals];
    for (const { name, provider } of await this.enabledProviders()) {
      if (out.length >= limit) break;
      try {
        out.push(...(await provider.search(query, limit - out.length)).slice(0, limit - out.length));
      } catch (error) {
        this.logger.warn({ provider: name, err: error }, 'principal search failed for a provider; skipped');
      }
    }
    return out;
  }

  async close(): Promise<void> {
    for (const name of new Set([...this.live.keys(), ...this.testing.keys()])) await this.dropLive(name);
  }
}
