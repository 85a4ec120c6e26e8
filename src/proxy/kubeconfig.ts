/**
 * The kubeconfig Drover hands out for one cluster (or, merged, for every cluster a
 * user can use): cluster, context and user all named after the cluster, server
 * `<public-url>/k8s/clusters/<id>`, the server CA embedded, and either a
 * cluster-scoped token or the `drover token` exec plugin (when the server is set not
 * to generate tokens).
 */
import { stringify } from 'yaml';

export type KubeconfigCredential =
  | { type: 'token'; token: string }
  /** `server` and `username` name the login the plugin must use: it refuses any other. */
  | { type: 'exec'; command: string; clusterId: string; server: string; username: string };

export interface KubeconfigInput {
  publicUrl: string;
  caPem: string;
  clusterId: string;
  clusterName: string;
  credential: KubeconfigCredential;
  /**
   * Authorized cluster endpoint contexts: kube-apiserver directly, same user and
   * token, authenticated by kube-api-auth. `kubectl config use-context` switches.
   */
  aceContexts?: ReadonlyArray<{ name: string; server: string; caPem?: string }>;
}

export const EXEC_CREDENTIAL_API_VERSION = 'client.authentication.k8s.io/v1';

function userEntry(credential: KubeconfigCredential): Record<string, unknown> {
  switch (credential.type) {
    case 'token':
      return { token: credential.token };
    case 'exec':
      return {
        exec: {
          apiVersion: EXEC_CREDENTIAL_API_VERSION, command: credential.command, args: ['token', '--cluster', credential.clusterId, '--server', credential.server, '--user', credential.username],
          // IfAvailable: in a terminal kubectl hands the plugin its stdin, so an expired
          // login can be renewed on the spot; in scripts it stays non-interactive.
          interactiveMode: 'IfAvailable', provideClusterInfo: false,
        },
      };
    default: {
      const never: never = credential;
      throw new Error(`unknown credential ${String(never)}`);
    }
  }
}

interface Parts {
  clusters: Array<{ name: string; cluster: Record<string, string> }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
}

const caData = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

/** One cluster's proxy entry and its ACE entries (cluster, user and context all named after the cluster). */
function parts(input: KubeconfigInput): { proxy: Parts; ace: Parts } {
  const name = input.clusterName;
  const ace = input.aceContexts ?? [];
  return {
    proxy: {
      clusters: [{ name, cluster: { server: `${input.publicUrl.replace(/\/+$/, '')}/k8s/clusters/${input.clusterId}`, 'certificate-authority-data': caData(input.caPem) } }],
      users: [{ name, user: userEntry(input.credential) }],
      contexts: [{ name, context: { cluster: name, user: name } }],
    },
    ace: {
      clusters: ace.map((c) => ({ name: c.name, cluster: { server: c.server, ...(c.caPem ? { 'certificate-authority-data': caData(c.caPem) } : {}) } })),
      users: [],
      contexts: ace.map((c) => ({ name: c.name, context: { cluster: c.name, user: name } })),
    },
  };
}

function stringifyConfig(all: Parts, currentContext: string): string {
  return stringify({ apiVersion: 'v1', kind: 'Config', clusters: all.clusters, users: all.users, contexts: all.contexts, 'current-context': currentContext });
}

/** YAML text of the kubeconfig for one cluster; its proxy context is current. */
export function renderKubeconfig(input: KubeconfigInput): string {
  const { proxy, ace } = parts(input);
  return stringifyConfig({ clusters: [...proxy.clusters, ...ace.clusters], users: proxy.users, contexts: [...proxy.contexts, ...ace.contexts] }, input.clusterName);
}

/**
 * One kubeconfig for many clusters (`drover kubeconfig --all`): every proxy context
 * first, then the ACE contexts. A name used twice (an ACE context `prod-fqdn` next to
 * a cluster called `prod-fqdn`) keeps its first entry, so the proxy context wins.
 */
export function renderMergedKubeconfig(inputs: readonly KubeconfigInput[], currentContext: string): { yaml: string; contexts: string[]; aceContexts: string[] } {
  const split = inputs.map(parts);
  const all: Parts = { clusters: [], users: [], contexts: [] };
  const taken = new Set<string>();
  const aceContexts: string[] = [];
  const add = (p: Parts, isAce: boolean): void => {
    p.contexts.forEach((context, i) => {
      if (taken.has(context.name)) return;
      taken.add(context.name);
      all.contexts.push(context);
      const cluster = p.clusters[i];
      if (cluster) all.clusters.push(cluster);
      if (isAce) aceContexts.push(context.name);
    });
    all.users.push(...p.users);
  };
  for (const s of split) add(s.proxy, false);
  for (const s of split) add(s.ace, true);
  return { yaml: stringifyConfig(all, currentContext), contexts: all.contexts.map((c) => c.name), aceContexts };
}
