/**
 * A provider's settings as stored (`auth_providers`, with the secret fields in the
 * `secrets` table under `provider/<name>` and `provider-pending/<name>`) and as shown:
 * the pending configuration, the digest that ties a test login to exactly one
 * configuration, schema checks, and the view without secrets.
 */
import { createHash } from 'node:crypto';
import { Compile } from 'typebox/compile';
import type { Selectable } from 'kysely';
import type { AuthProvidersTable } from '../../store/index.ts';
import { DroverError } from '../../errors/index.ts';
import { providerCatalog } from './catalog.ts';
import type { AccessMode, LoginStyle, ProviderDefinition, ProviderName } from './types.ts';

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
export interface Pending {
  config: Record<string, unknown>;
  digest: string;
  accessMode: AccessMode;
  allowedPrincipals: string[];
  testedDigest?: string;
  testedAt?: string;
  updatedAt: string;
}

export const pendingOf = (row: Row | undefined): Pending | undefined => (row?.pending ? JSON.parse(row.pending) as Pending : undefined);

export interface ConfigureInput {
  config: Record<string, unknown>;
  accessMode?: AccessMode;
  allowedPrincipals?: string[];
}

export interface Row extends Selectable<AuthProvidersTable> { name: ProviderName }

export const digestOf = (name: string, config: Record<string, unknown>): string =>
  createHash('sha256').update(`${name}\n${canonicalJson(config)}`).digest('hex');

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export const secretName = (name: string): string => `provider/${name}`;
export const pendingSecretName = (name: string): string => `provider-pending/${name}`;

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

/** What the API shows of a provider's settings: never a secret value, only which secret fields are set. */
export function settingsView(definition: ProviderDefinition, row: Row | undefined, secretsSet: string[]): ProviderView {
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
