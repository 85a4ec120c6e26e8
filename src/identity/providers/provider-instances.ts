/**
 * Provider instances (LDAP pools, OIDC discovery, GitHub clients), one per provider for
 * logins (`live`) and one for test logins (`test`), each remembered with the digest of
 * the configuration it was built from: a changed configuration builds a new instance and
 * closes the old one, so an instance never serves a configuration other than its own.
 */
import type { AuthProvider, ProviderName } from './types.ts';

export type InstanceKind = 'live' | 'test';

interface Built { digest: string; provider: AuthProvider }

export class ProviderInstances {
  private readonly built: Record<InstanceKind, Map<ProviderName, Built>> = { live: new Map(), test: new Map() };

  /** The instance of `name` built from the configuration with `digest`; `build` makes it when there is none yet. */
  async get(kind: InstanceKind, name: ProviderName, digest: string, build: () => Promise<AuthProvider>): Promise<AuthProvider> {
    const map = this.built[kind];
    const current = map.get(name);
    if (current !== undefined && current.digest === digest) return current.provider;
    const provider = await build();
    map.set(name, { digest, provider });
    if (current) await current.provider.close().catch(() => undefined);
    return provider;
  }

  /** Closes both instances of a provider (disabled, or its configuration replaced). */
  async drop(name: ProviderName): Promise<void> {
    for (const map of Object.values(this.built)) {
      const entry = map.get(name);
      map.delete(name);
      if (entry) await entry.provider.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    for (const name of new Set(Object.values(this.built).flatMap((map) => [...map.keys()]))) await this.drop(name);
  }
}
