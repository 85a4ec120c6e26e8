/** The kubeconfig files the harness writes: one for the admin, one for the token webhook. */

export interface AdminKubeconfigInput { url: string; caPem: string; token: string; name: string }

/** A kubeconfig for the static `admin` user (group system:masters). */
export function adminKubeconfig({ url, caPem, token, name }: AdminKubeconfigInput): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name, context: { cluster: name, user: 'admin' } }],
    'current-context': name,
  }, null, 2);
}

/**
 * kube-apiserver's `--authentication-token-webhook-config-file` format: a kubeconfig
 * whose cluster is the webhook. Plain http is allowed for a loopback webhook.
 */
export function webhookKubeconfig(url: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'token-webhook', cluster: { server: url } }],
    users: [{ name: 'kube-apiserver', user: {} }],
    contexts: [{ name: 'webhook', context: { cluster: 'token-webhook', user: 'kube-apiserver' } }],
    'current-context': 'webhook',
  }, null, 2);
}
