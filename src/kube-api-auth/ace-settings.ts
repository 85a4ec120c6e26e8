/**
 * Per-cluster ACE setting (an FQDN with its CA, or one context per control-plane
 * node) and the kubeconfig contexts it yields. Unlike the reference design, the
 * FQDN keeps its port: `https://HOST:PORT` is exactly what the admin typed.
 */
import type { Kysely } from 'kysely';
import type { ClusterService } from '../clusters/index.ts';
import type { Database } from '../store/index.ts';
import { InvalidArgumentError } from '../errors/index.ts';

export type AceSetting =
  | { mode: 'off' }
  | { mode: 'fqdn'; fqdn: string; caPem?: string }
  | { mode: 'nodes' };

/** One extra kubeconfig context pointing straight at kube-apiserver. */
export interface AceContext { name: string; server: string; caPem?: string }

const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;

/** Checks an FQDN setting eagerly; throws InvalidArgumentError naming the flag. */
export function checkAceSetting(setting: AceSetting): AceSetting {
  switch (setting.mode) {
    case 'off':
    case 'nodes':
      return { mode: setting.mode };
    case 'fqdn': {
      const match = hostPort.exec(setting.fqdn);
      const port = Number(match?.[3]);
      if (!match || !(port > 0 && port <= 65535)) throw new InvalidArgumentError('--ace-fqdn', 'HOST:PORT', setting.fqdn);
      if (setting.caPem !== undefined && !/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(setting.caPem.trim())) {
        throw new InvalidArgumentError('--ace-ca-file', 'a PEM certificate bundle');
      }
      return { mode: 'fqdn', fqdn: setting.fqdn, ...(setting.caPem ? { caPem: setting.caPem.trim() + '\n' } : {}) };
    }
    default: {
      const never: never = setting;
      throw new InvalidArgumentError('ace mode', '"off", "fqdn" or "nodes"', never);
    }
  }
}

export class AceSettings {
  private readonly db: Kysely<Database>;
  private readonly clusters: Pick<ClusterService, 'get' | 'access' | 'controlPlanes'>;

  constructor(options: { db: Kysely<Database>; clusters: Pick<ClusterService, 'get' | 'access' | 'controlPlanes'> }) {
    this.db = options.db;
    this.clusters = options.clusters;
  }

  /** The cluster's id and name (throws DRV_ERR_NOT_FOUND). */
  cluster(idOrName: string): Promise<{ id: string; name: string }> {
    return this.clusters.get(idOrName);
  }

  async get(idOrName: string): Promise<AceSetting> {
    const cluster = await this.clusters.get(idOrName);
    const row = await this.db.selectFrom('cluster_ace').selectAll().where('cluster_id', '=', cluster.id).executeTakeFirst();
    if (!row) return { mode: 'off' };
    if (row.mode === 'fqdn' && row.fqdn) return { mode: 'fqdn', fqdn: row.fqdn, ...(row.ca_pem ? { caPem: row.ca_pem } : {}) };
    return { mode: 'nodes' };
  }

  async set(idOrName: string, input: AceSetting): Promise<AceSetting> {
    const setting = checkAceSetting(input);
    const cluster = await this.clusters.get(idOrName);
    if (setting.mode === 'off') {
      await this.db.deleteFrom('cluster_ace').where('cluster_id', '=', cluster.id).execute();
      return setting;
    }
    const values = {
      mode: setting.mode, fqdn: setting.mode === 'fqdn' ? setting.fqdn : null,
      ca_pem: setting.mode === 'fqdn' ? setting.caPem ?? null : null, updated_at: new Date().toISOString(),
    };
    await this.db.insertInto('cluster_ace').values({ cluster_id: cluster.id, ...values })
      .onConflict((oc) => oc.column('cluster_id').doUpdateSet(values)).execute();
    return setting;
  }

  /**
   * The extra contexts `drover kubeconfig` adds: `<cluster>-fqdn`, or
   * `<cluster>-<node>` per control-plane node (ExternalIP, else InternalIP, on the
   * apiserver's port) as the cluster's owner last saw them. Empty when ACE is off.
   */
  async contexts(idOrName: string): Promise<AceContext[]> {
    const cluster = await this.clusters.get(idOrName);
    const setting = await this.get(cluster.id);
    switch (setting.mode) {
      case 'off':
        return [];
      case 'fqdn':
        return [{ name: `${cluster.name}-fqdn`, server: `https://${setting.fqdn}`, ...(setting.caPem ? { caPem: setting.caPem } : {}) }];
      case 'nodes':
        return this.nodeContexts(cluster.id, cluster.name);
      default: {
        const never: never = setting;
        return never;
      }
    }
  }

  /** From the control-plane nodes the cluster's owner last recorded, so any replica answers, connected to the cluster or not. */
  private async nodeContexts(clusterId: string, clusterName: string): Promise<AceContext[]> {
    const access = await this.clusters.access(clusterId);
    if (!access) return [];
    const port = /:(\d+)$/.exec(access.apiServer)?.[1] ?? '6443';
    return (await this.clusters.controlPlanes(clusterId)).map(({ name, address }) => {
      const host = address.includes(':') ? `[${address}]` : address;
      const short = name.startsWith(`${clusterName}-`) ? name.slice(clusterName.length + 1) : name;
      return { name: `${clusterName}-${short}`, server: `https://${host}:${port}`, caPem: access.caPem };
    });
  }
}
