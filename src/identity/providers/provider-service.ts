/**
 * The provider lifecycle: configure → test → enable, and disable. An admin configures a provider (secret
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
import type { Store } from '../../store/index.ts';
import { deleteSecrets, putSecret, readSecret, type SecretBox } from '../../store/index.ts';
import { DroverError } from '../../errors/index.ts';
import type { Logger } from '../../logging/index.ts';
import type { Identity } from '../identity.ts';
import type { User } from '../types.ts';
import type { LoginInput, LoginResult } from '../local-login.ts';
import { providerCatalog } from './catalog.ts';
import { ExternalLogin, type AccessPolicy, type CompleteExternalLogin } from './external-login.ts';
import { KnownUsers, StoredKnownUsers, forgetProviderCredentials } from './known-users.ts';
import { PrincipalUsers, type FoundPrincipal, type UsersByPrincipal } from './principal-users.ts';
import { ProviderInstances, type InstanceKind } from './provider-instances.ts';
import {
  definitionOf, digestOf, pendingOf, pendingSecretName, secretName, settingsView, validateConfig, type ConfigureInput, type Pending, type ProviderView, type Row,
} from './provider-settings.ts';
import type { AccessMode, AuthProvider, LoginStyle, ProviderDefinition, ProviderDeps, ProviderName, VerifiedIdentity } from './types.ts';

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

/**
 * A login name as a directory matches it: LDAP's case-ignoring matching rules (uid,
 * sAMAccountName) drop leading and trailing spaces and fold runs of them into one, and
 * string preparation maps compatibility forms (full-width letters) to their plain ones.
 * Case is folded by the throttle itself.
 */
function directoryName(username: string): string {
  return username.normalize('NFKC').trim().replace(/\s+/g, ' ');
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
  private readonly instances = new ProviderInstances();
  private readonly principals: PrincipalUsers;

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
    this.principals = new PrincipalUsers({
      external: this.external, enabledInstance: (name) => this.enabledInstance(name), enabledProviders: () => this.enabledProviders(),
      policyOf: (name) => this.policyOf(name), users: options.identity.users, logger: this.logger,
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
    const secret = await readSecret(this.store.db, this.secrets, name);
    return secret === undefined ? {} : JSON.parse(secret) as Record<string, unknown>;
  }

  async list(): Promise<ProviderView[]> {
    const rows = new Map((await this.store.db.selectFrom('auth_providers').selectAll().execute()).map((r) => [r.name, r as Row]));
    const out: ProviderView[] = [];
    for (const definition of Object.values<ProviderDefinition>(providerCatalog)) {
      const row = rows.get(definition.name);
      out.push(settingsView(definition, row, row ? await this.secretsSet(definition, row) : []));
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
    await this.store.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('auth_providers').where('name', '=', definition.name).execute();
      await trx.insertInto('auth_providers').values(values).execute();
      await putSecret(trx, this.secrets, secretName(definition.name), JSON.stringify(secret), now);
      await deleteSecrets(trx, [pendingSecretName(definition.name)]);
    });
    this.logger.info({ provider: definition.name, accessMode }, 'auth provider configured');
    return settingsView(definition, values, definition.secretFields.filter((f) => secret[f] !== undefined && secret[f] !== ''));
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
    await this.store.db.transaction().execute(async (trx) => {
      await trx.updateTable('auth_providers').set({ pending: JSON.stringify(pending) }).where('name', '=', definition.name).execute();
      await putSecret(trx, this.secrets, name, JSON.stringify(input.secret), input.now);
    });
    this.logger.info({ provider: definition.name, accessMode: input.accessMode }, 'auth provider configuration stored as pending; the current one keeps serving');
    return settingsView(definition, { ...row, pending: JSON.stringify(pending) }, await this.secretsSet(definition, row));
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
    return settingsView(definition, { ...row, enabled: 1 }, await this.secretsSet(definition, row));
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
    const promoted = await this.store.db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('auth_providers').set(values).where('name', '=', name).where('pending', '=', stored).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await putSecret(trx, this.secrets, secretName(name), JSON.stringify(secrets), now);
      await deleteSecrets(trx, [pendingSecretName(name)]);
      return true;
    });
    if (!promoted) throw new DroverError('DRV_ERR_CONFLICT', `${name}: the pending configuration changed meanwhile; test it again, then enable`);
    this.changes?.publish({ table: 'auth_providers', key: name });
    this.logger.info({ provider: name, accessMode: pending.accessMode }, 'auth provider pending configuration promoted; its users stay logged in');
    const next = { ...row, ...values } as Row;
    return settingsView(definition, next, await this.secretsSet(definition, next));
  }

  /** Stops logins through the provider and revokes every token of its users. */
  async disable(name: string): Promise<ProviderView> {
    const { definition, row } = await this.configured(name);
    // A pending configuration goes too: configuring a disabled provider changes it directly.
    await this.store.db.transaction().execute(async (trx) => {
      await trx.updateTable('auth_providers').set({ enabled: 0, pending: null, updated_at: this.now() }).where('name', '=', definition.name).execute();
      await deleteSecrets(trx, [pendingSecretName(definition.name)]);
    });
    const users = await this.external.principalsOf(definition.name);
    const fromTokens = await this.identity.tokens.holders({ authProvider: definition.name });
    const revoked = await this.external.revokeTokens([...users.map((u) => u.userId), ...fromTokens]);
    const forgotten = await forgetProviderCredentials(this.store, definition.name);
    await this.instances.drop(definition.name);
    this.changes?.publish({ table: 'auth_providers', key: definition.name });
    this.logger.info({ provider: definition.name, revokedTokens: revoked, forgottenCredentials: forgotten }, 'auth provider disabled; its users\' tokens revoked');
    return settingsView(definition, { ...row, enabled: 0, pending: null }, await this.secretsSet(definition, row));
  }

  /**
   * Another replica disabled the provider or promoted a new configuration: the live
   * instance built from the old one (and its connections) goes; the next use builds
   * it again from the row. Rows are read on every use, so this frees resources; it
   * decides nothing.
   */
  async forget(name: string): Promise<void> {
    const definition = (providerCatalog as Partial<Record<string, ProviderDefinition>>)[name];
    if (definition) await this.instances.drop(definition.name);
  }

  private instance(kind: InstanceKind, definition: ProviderDefinition, row: Row, pending?: Pending): Promise<AuthProvider> {
    return this.instances.get(kind, definition.name, pending?.digest ?? row.config_digest, async () => {
      const config = pending ? await this.pendingFullConfig(row, pending) : await this.fullConfig(row);
      return definition.create(config, this.deps(definition.name, kind === 'live'));
    });
  }

  async get(name: string): Promise<AuthProvider> {
    const { definition, row } = await this.configured(name);
    if (row.enabled !== 1) throw new DroverError('DRV_ERR_CONFLICT', `auth provider "${name}" is not enabled`);
    return this.instance('live', definition, row);
  }

  async getForTest(name: string): Promise<AuthProvider> {
    const { definition, row } = await this.configured(name);
    // A pending configuration is what a test login tests.
    return this.instance('test', definition, row, pendingOf(row));
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
          name: definition.name, provider: await this.instance('live', definition, row),
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

  /**
   * POST /v1/login and /v1/session for LDAP and AD: throttled like local logins, then completeExternalLogin.
   * The lock is per name as the directory reads it (`directoryName`), or " alice" would get
   * fresh attempts at alice's password while alice is locked.
   */
  async passwordLogin(providerName: string, input: LoginInput): Promise<LoginResult> {
    const definition = (providerCatalog as Partial<Record<string, ProviderDefinition>>)[providerName];
    const row = definition ? await this.row(definition.name) : undefined;
    if (!definition || row?.enabled !== 1) throw new DroverError('DRV_ERR_UNPROCESSABLE', `auth provider "${providerName}" is not enabled on this server`);
    if (definition.style !== 'password') {
      throw new DroverError('DRV_ERR_UNPROCESSABLE', `${providerName} logs in through the browser: run "drover login URL --provider ${providerName}" without a password`);
    }
    const throttleKey = `${definition.name}:${directoryName(input.username)}`;
    const delay = await this.identity.throttle.check(throttleKey, input.address);
    if (delay > 0) await this.sleep(delay);
    const provider = await this.instance('live', definition, row);
    if (provider.style !== 'password') throw new DroverError('DRV_ERR_INTERNAL', `${providerName} is not a password provider`);
    let identity: VerifiedIdentity;
    try {
      identity = await provider.authenticate(input.username, input.password);
    } catch (error) {
      if (error instanceof DroverError && error.code === 'DRV_ERR_UNAUTHENTICATED') {
        await this.identity.throttle.recordFailure(throttleKey, input.address);
        this.logger.info({ provider: definition.name, address: input.address }, 'provider login failed');
      }
      throw error;
    }
    await this.identity.throttle.recordSuccess(throttleKey);
    const result = await this.completeLogin(definition.name, identity, {
      address: input.address, ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.ttlSeconds === undefined ? {} : { ttlSeconds: input.ttlSeconds }),
    });
    this.logger.info({ provider: definition.name, userId: result.user.id, tokenId: result.token.id }, 'provider login succeeded');
    return result;
  }

  /** The live instance of the provider named, when it is enabled. */
  private async enabledInstance(name: string): Promise<{ definition: ProviderDefinition; provider: AuthProvider } | undefined> {
    const definition = (providerCatalog as Partial<Record<string, ProviderDefinition>>)[name];
    const row = definition ? await this.row(definition.name) : undefined;
    if (!definition || row?.enabled !== 1) return undefined;
    return { definition, provider: await this.instance('live', definition, row) };
  }

  /** See PrincipalUsers. */
  ensureUserForPrincipal(principalId: string): Promise<User> {
    return this.principals.ensureUserForPrincipal(principalId);
  }

  findUserByPrincipal(principalId: string): Promise<User | undefined> {
    return this.principals.findUserByPrincipal(principalId);
  }

  search(query: string, limit: number): Promise<FoundPrincipal[]> {
    return this.principals.search(query, limit);
  }

  async close(): Promise<void> {
    await this.instances.close();
  }
}
