/**
 * The kubeconfig-format file kube-apiserver reads through
 * `--authentication-token-webhook-config-file`, pointing at kube-api-auth on the
 * node's loopback address (plain HTTP never leaves the host). docs/ace.md lists the
 * flags to set beside it.
 */
import { stringify } from 'yaml';

export const defaultWebhookUrl = 'http://127.0.0.1:6440/v1/authenticate';

/** YAML for the webhook config file. */
export function webhookConfig(url = defaultWebhookUrl): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'drover-kube-api-auth', cluster: { server: url } }],
    users: [{ name: 'kube-apiserver', user: {} }],
    contexts: [{ name: 'webhook', context: { cluster: 'drover-kube-api-auth', user: 'kube-apiserver' } }],
    'current-context': 'webhook',
  });
}

/** The kube-apiserver flags that go with it. */
export function kubeApiserverFlags(configPath: string): string[] {
  return [
    `--authentication-token-webhook-config-file=${configPath}`,
    '--authentication-token-webhook-version=v1',
    // A revoked token must stop working within seconds, not the 2 min default.
    '--authentication-token-webhook-cache-ttl=5s',
  ];
}
