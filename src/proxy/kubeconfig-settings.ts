/**
 * Server settings for kubeconfig tokens: the default lifetime, the most a caller
 * may ask for, and whether kubeconfigs hold a token or run `drover token`.
 *
 * Stored in the `settings` table (row `kubeconfig`) and changed by admins through
 * `PUT /v1/settings/kubeconfig`. Until an admin saves them, the environment gives
 * the values (read and checked at startup by src/server/config.ts):
 *   DROVER_KUBECONFIG_TOKEN_TTL_SECONDS      default lifetime (default 30 days)
 *   DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS  the most a caller may ask for (default 90 days)
 *   DROVER_KUBECONFIG_GENERATE_TOKEN         "false": kubeconfigs use `drover token` instead of a token
 *
 * Readers get an in-memory copy: a write on this replica updates it at once and is
 * published on the change feed (`settings`, `kubeconfig`), whose event makes other
 * replicas drop their copy (`invalidate`); a copy older than `refreshMs` (10 s) is
 * re-read anyway. A stored value that does not pass
 * the checks fails closed: kubeconfig and token requests are refused until an admin
 * saves a valid value, rather than silently using something nobody chose.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
import type { ChangePublisher } from '../coordination/index.ts';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import { formatDuration } from '../durations/index.ts';

export interface KubeconfigSettings {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  generateToken: boolean;
}

/** The settings with where they come from: saved by an admin, or the environment's defaults. */
export interface KubeconfigSettingsView extends KubeconfigSettings {
  source: 'stored' | 'environment';
  /** When an admin last saved them (absent for environment defaults). */
  updatedAt?: string;
}

/** Shortest token lifetime (the API's `ttlSeconds` has the same minimum). */
export const MIN_TOKEN_TTL_SECONDS = 60;
/** Longest: one year. A kubeconfig token is a bearer credential; rotate at least yearly. */
export const MAX_TOKEN_TTL_SECONDS = 365 * 24 * 3600;

const SETTING_NAME = 'kubeconfig';

function checkSeconds(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_TOKEN_TTL_SECONDS || value > MAX_TOKEN_TTL_SECONDS) {
    throw new InvalidArgumentError(name, `a whole number of seconds from ${MIN_TOKEN_TTL_SECONDS} (1 minute) to ${MAX_TOKEN_TTL_SECONDS} (365 days)`, value);
  }
  return value;
}

/**
 * Checks a whole settings value; throws InvalidArgumentError naming the field and
 * the rule. `names` lets each surface name the fields the way its caller wrote them.
 */
export function checkKubeconfigSettings(
  input: KubeconfigSettings,
  names: { defaultTtl: string; maxTtl: string; generate: string } = { defaultTtl: 'defaultTtlSeconds', maxTtl: 'maxTtlSeconds', generate: 'generateToken' },
): KubeconfigSettings {
  const maxTtlSeconds = checkSeconds(names.maxTtl, input.maxTtlSeconds);
  const defaultTtlSeconds = checkSeconds(names.defaultTtl, input.defaultTtlSeconds);
  if (defaultTtlSeconds > maxTtlSeconds) {
    throw new InvalidArgumentError(names.defaultTtl, `at most ${names.maxTtl} (${maxTtlSeconds}); raise the maximum first or choose a shorter default`, defaultTtlSeconds);
  }
  if (typeof input.generateToken !== 'boolean') throw new InvalidArgumentError(names.generate, 'true or false', input.generateToken);
  return { defaultTtlSeconds, maxTtlSeconds, generateToken: input.generateToken };
}

/**
 * The lifetime of a kubeconfig token: the requested one within the settings' bounds, or the
 * default. One rule for every way such a token is made (a kubeconfig, the exec plugin's
 * token, `POST /v1/tokens` with kind `kubeconfig`), so none of them outlives the maximum.
 */
export function kubeconfigTokenTtl(settings: KubeconfigSettings, requestedSeconds: number | undefined): number {
  const ttl = requestedSeconds ?? settings.defaultTtlSeconds;
  if (ttl < MIN_TOKEN_TTL_SECONDS) throw new DroverError('DRV_ERR_UNPROCESSABLE', `ttlSeconds: at least ${MIN_TOKEN_TTL_SECONDS} seconds (${formatDuration(MIN_TOKEN_TTL_SECONDS)})`);
  if (ttl > settings.maxTtlSeconds) {
    throw new DroverError('DRV_ERR_UNPROCESSABLE', `ttlSeconds: at most ${settings.maxTtlSeconds} seconds (${formatDuration(settings.maxTtlSeconds)}, the server's maximum kubeconfig token lifetime)`);
  }
  return ttl;
}

/** What the proxy API reads on every kubeconfig and plugin-token request. */
export interface KubeconfigSettingsSource {
  current(): Promise<KubeconfigSettings>;
}

export class KubeconfigSettingsStore implements KubeconfigSettingsSource {
  private readonly db: Kysely<Database>;
  private readonly defaults: KubeconfigSettings;
  private readonly refreshMs: number;
  private readonly now: () => number;
  private cached: { view: KubeconfigSettingsView; readAt: number } | undefined;
  private reading: Promise<KubeconfigSettingsView> | undefined;
  /** Bumped by every write, so a read that started before it cannot put back the old value. */
  private generation = 0;
  private readonly changes: ChangePublisher | undefined;

  constructor(options: { db: Kysely<Database>; defaults: KubeconfigSettings; refreshMs?: number; now?: () => number; changes?: ChangePublisher }) {
    this.db = options.db;
    this.changes = options.changes;
    this.defaults = checkKubeconfigSettings(options.defaults);
    this.refreshMs = options.refreshMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  async current(): Promise<KubeconfigSettings> {
    const { defaultTtlSeconds, maxTtlSeconds, generateToken } = await this.get();
    return { defaultTtlSeconds, maxTtlSeconds, generateToken };
  }

  /** The settings in force: the in-memory copy, re-read when older than refreshMs. */
  async get(): Promise<KubeconfigSettingsView> {
    if (this.cached && this.now() - this.cached.readAt < this.refreshMs) return this.cached.view;
    // One read at a time; concurrent callers share it.
    this.reading ??= this.read().finally(() => { this.reading = undefined; });
    return this.reading;
  }

  /** Checks and saves the whole setting (admins only; the API checks that). */
  async set(input: KubeconfigSettings): Promise<KubeconfigSettingsView> {
    const value = checkKubeconfigSettings(input);
    const updatedAt = new Date(this.now()).toISOString();
    const row = { value: JSON.stringify(value), updated_at: updatedAt };
    await this.db.insertInto('settings').values({ name: SETTING_NAME, ...row })
      .onConflict((oc) => oc.column('name').doUpdateSet(row)).execute();
    const view: KubeconfigSettingsView = { ...value, source: 'stored', updatedAt };
    this.generation += 1;
    this.cached = { view, readAt: this.now() };
    this.changes?.publish({ table: 'settings', key: SETTING_NAME });
    return view;
  }

  /** Another replica saved the settings: the next reader reads the row. */
  invalidate(): void {
    this.generation += 1;
    this.cached = undefined;
  }

  private async read(): Promise<KubeconfigSettingsView> {
    const generation = this.generation;
    const row = await this.db.selectFrom('settings').selectAll().where('name', '=', SETTING_NAME).executeTakeFirst();
    let view: KubeconfigSettingsView;
    if (!row) {
      view = { ...this.defaults, source: 'environment' };
    } else {
      try {
        view = { ...checkKubeconfigSettings(JSON.parse(row.value) as KubeconfigSettings), source: 'stored', updatedAt: row.updated_at };
      } catch (error) {
        throw new DroverError('DRV_ERR_INTERNAL', 'the stored kubeconfig settings are not valid; an admin must save them again ("drover settings set kubeconfig")', { cause: error });
      }
    }
    if (generation === this.generation) this.cached = { view, readAt: this.now() };
    return view;
  }
}
