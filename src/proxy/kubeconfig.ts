/**
 * The kubeconfig Drover hands out for one cluster: cluster, context and user all
 * named after the cluster, server `<public-url>/k8s/clusters/<id>`, the server CA
 * embedded, and either a cluster-scoped token or the `drover token` exec plugin
 * (when the server is set not to generate tokens).
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

/** YAML text of the kubeconfig. */
export function renderKubeconfig(input: KubeconfigInput): string {
  const name = input.clusterName;
  const ace = input.aceContexts ?? [];
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{
      name,
      cluster: {
        server: `${input.publicUrl.replace(/\/+$/, '')}/k8s/clusters/${input.clusterId}`,
        'certificate-authority-data': Buffer.from(input.caPem, 'utf8').toString('base64'),
      },
    }, ...ace.map((c) => ({
      name: c.name,
      cluster: { server: c.server, ...(c.caPem ? { 'certificate-authority-data': Buffer.from(c.caPem, 'utf8').toString('base64') } : {}) },
    }))],
    users: [{ name, user: userEntry(input.credential) }],
    contexts: [{ name, context: { cluster: name, user: name } }, ...ace.map((c) => ({ name: c.name, context: { cluster: c.name, user: name } }))],
    'current-context': name,
  });
}
