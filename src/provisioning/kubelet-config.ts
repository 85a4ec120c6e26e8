/**
 * How a worker's kubelet runs. Two kinds, told apart by the binaries directory:
 *
 * - `kubelet`, the real one: a KubeletConfiguration file (client CA, cgroup
 *   driver, the cluster DNS address, static pods off) and flags for the container
 *   runtime's socket, the node's name and address. The cgroup driver is cgroupfs,
 *   as Debian's containerd is configured by default (`SystemdCgroup = false`), and
 *   cgroup v1 is allowed (`failCgroupV1: false`): hosts that mount v1 controllers
 *   beside v2 (these test machines do) are refused by a 1.35+ kubelet otherwise.
 *   It authenticates as
 *   `system:node:<name>` in `system:nodes`, so the Node authorizer and the
 *   NodeRestriction admission plugin confine it to its own objects.
 * - `drover-test-kubelet`, the project's test node (test/kubelet), for machines
 *   where no container runtime can run pods (docs/provisioning.md says why): it
 *   takes its own four flags, and the node-admin credential, since it deletes its
 *   own pods and Node on stop, which a kubelet may not.
 */
import { stringify } from 'yaml';
import type { PlannedFile } from './plan.ts';

export const kubeletConfigPath = 'etc/kubernetes/kubelet-config.yaml';
export const kubeletKubeconfigPath = 'etc/kubernetes/kubelet.kubeconfig';
export const clusterDns = '10.43.0.10';

export interface KubeletInput {
  kind: 'kubelet' | 'drover-test-kubelet';
  nodeName: string;
  address: string;
  /** Labels the kubelet registers its Node with (the control-plane role label is set by the server, not the node). */
  labels: Record<string, string>;
  containerRuntimeEndpoint?: string;
}

export function kubeletConfiguration(): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      // The kubelet resolves relative paths in this file against the file's own folder (etc/kubernetes).
      x509: { clientCAFile: 'pki/ca.crt' },
    },
    authorization: { mode: 'Webhook' },
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    clusterDNS: [clusterDns],
    clusterDomain: 'cluster.local',
    // Drover supervises the control plane itself; the kubelet runs only scheduled pods.
    staticPodPath: '',
    rotateCertificates: false,
    serverTLSBootstrap: false,
    failSwapOn: false,
    // Containers' logs stay in the data dir (uninstall removes them), not the host's /var/log/pods.
    podLogsDir: '../../var/log/pods',
  });
}

/** The kubelet's files (configuration; its kubeconfig comes with the others) and arguments. */
export function kubeletInvocation(input: KubeletInput): { files: PlannedFile[]; args: string[] } {
  const labels = Object.entries(input.labels).map(([k, v]) => `${k}=${v}`);
  if (input.kind === 'drover-test-kubelet') {
    return {
      files: [],
      args: [
        '--kubeconfig', kubeletKubeconfigPath, '--node-name', input.nodeName, '--listen', '127.0.0.1:0', '--work-dir', 'var/lib/kubelet',
        ...labels.flatMap((l) => ['--label', l]),
      ],
    };
  }
  return {
    files: [{ path: kubeletConfigPath, content: kubeletConfiguration(), mode: 0o644 }],
    args: [
      `--config=${kubeletConfigPath}`,
      `--kubeconfig=${kubeletKubeconfigPath}`,
      `--hostname-override=${input.nodeName}`,
      `--node-ip=${input.address}`,
      `--container-runtime-endpoint=${input.containerRuntimeEndpoint ?? 'unix:///run/containerd/containerd.sock'}`,
      '--root-dir=var/lib/kubelet',
      ...(labels.length > 0 ? [`--node-labels=${labels.join(',')}`] : []),
    ],
  };
}
