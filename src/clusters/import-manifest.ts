/**
 * The import manifest: what `kubectl apply -f <server>/v1/import/<token>.yaml`
 * creates in a cluster so that Drover's agents run there. Names follow the
 * reference design (cattle-system, cattle, cattle-cluster-agent, cattle-node-agent,
 * kube-api-auth) so operators' troubleshooting habits carry over.
 *
 * The registration token is the only secret here; it lives in a Secret and reaches
 * the agents through environment variables, never on a command line (which shows
 * in `ps` and in the pod spec).
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { agentAccountObjects, agentNamespace, agentObjectMeta as meta, agentServiceAccount, managedByLabel } from '../agent-protocol/index.ts';

export interface ImportManifestInput {
  /** The server URL agents dial (DESIGN.md's public URL). */
  serverUrl: string;
  clusterId: string;
  registrationToken: string;
  /** Hex SHA-256 of the server's /cacerts, pinned by the agents; empty for a publicly trusted server. */
  caChecksum: string;
  /** Container image with the drover binary. */
  image: string;
  /** Adds the kube-api-auth DaemonSet on control-plane nodes (authorized cluster endpoint). */
  kubeApiAuth?: { listen: string };
}

const namespace = agentNamespace;

/** The Secret name carries a digest of its content, as the reference's cattle-credentials-<key>. */
export function credentialsSecretName(input: Pick<ImportManifestInput, 'serverUrl' | 'registrationToken'>): string {
  const key = createHash('sha256').update(`${input.serverUrl}.${input.registrationToken}.${namespace}`).digest('hex');
  return `cattle-credentials-${key.slice(0, 10)}`;
}

/** The manifest as multi-document YAML, in apply order. */
export function importManifest(input: ImportManifestInput): string {
  return importManifestObjects(input).map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

export function importManifestObjects(input: ImportManifestInput): object[] {
  const secretName = credentialsSecretName(input);
  const objects: object[] = [
    ...agentAccountObjects(),
    {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: meta(secretName),
      stringData: {
        url: input.serverUrl,
        token: input.registrationToken,
        'ca-checksum': input.caChecksum,
        'cluster-id': input.clusterId,
      },
    },
    clusterAgent(input, secretName),
    nodeAgent(input, secretName),
  ];
  // The authorized cluster endpoint's webhook; AceSync writes its CRDs and records through the tunnel.
  if (input.kubeApiAuth) objects.push(kubeApiAuthDaemonSet(input, input.kubeApiAuth.listen));
  return objects;
}

function agentEnv(input: ImportManifestInput, secretName: string): object[] {
  const fromSecret = (name: string, key: string): object => ({ name, valueFrom: { secretKeyRef: { name: secretName, key } } });
  return [
    fromSecret('DROVER_SERVER', 'url'),
    fromSecret('DROVER_TOKEN', 'token'),
    fromSecret('DROVER_CA_CHECKSUM', 'ca-checksum'),
    fromSecret('DROVER_CLUSTER_ID', 'cluster-id'),
    { name: 'DROVER_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
  ];
}

function container(input: ImportManifestInput, secretName: string, name: string, args: string[]): object {
  return {
    name,
    image: input.image,
    imagePullPolicy: 'IfNotPresent',
    args,
    env: agentEnv(input, secretName),
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1000,
      capabilities: { drop: ['ALL'] },
    },
  };
}

const controlPlaneTolerations = [
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
];

/** A Deployment or DaemonSet running one drover container under the `cattle` account. */
function agentWorkload(options: {
  kind: 'Deployment' | 'DaemonSet';
  name: string;
  container: object;
  podSpec: Record<string, unknown>;
  spec?: Record<string, unknown>;
}): object {
  const labels = { app: options.name };
  return {
    apiVersion: 'apps/v1', kind: options.kind, metadata: meta(options.name),
    spec: {
      ...options.spec,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: { ...labels, ...managedByLabel } },
        spec: { serviceAccountName: agentServiceAccount, ...options.podSpec, containers: [options.container] },
      },
    },
  };
}

function clusterAgent(input: ImportManifestInput, secretName: string): object {
  return agentWorkload({
    kind: 'Deployment', name: 'cattle-cluster-agent',
    container: container(input, secretName, 'cluster-register', ['agent', '--mode', 'cluster']),
    // Never drop the only tunnel during a rollout.
    spec: { replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } },
    podSpec: { tolerations: controlPlaneTolerations },
  });
}

function nodeAgent(input: ImportManifestInput, secretName: string): object {
  return agentWorkload({
    kind: 'DaemonSet', name: 'cattle-node-agent',
    container: container(input, secretName, 'agent', ['agent', '--mode', 'node']),
    // The fallback tunnel must work when cluster networking or DNS does not.
    podSpec: { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet', tolerations: [{ operator: 'Exists' }] },
  });
}

function kubeApiAuthDaemonSet(input: ImportManifestInput, listen: string): object {
  const linux = { key: 'kubernetes.io/os', operator: 'NotIn', values: ['windows'] };
  return agentWorkload({
    kind: 'DaemonSet', name: 'kube-api-auth',
    container: {
      name: 'kube-api-auth',
      image: input.image,
      imagePullPolicy: 'IfNotPresent',
      args: ['kube-api-auth', '--listen', listen],
      resources: { requests: { cpu: '20m', memory: '48Mi' }, limits: { memory: '192Mi' } },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ['ALL'] } },
    },
    podSpec: {
      // kube-apiserver calls the webhook on the node's loopback address.
      hostNetwork: true,
      tolerations: [{ operator: 'Exists' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }, linux] },
              { matchExpressions: [{ key: 'node-role.kubernetes.io/controlplane', operator: 'In', values: ['true'] }, linux] },
            ],
          },
        },
      },
    },
  });
}
