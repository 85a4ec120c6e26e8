/** Locates (building if needed) the control-plane binaries from test/kube/build.sh. */
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from './processes.ts';

export interface KubeBinaries {
  version: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
}

const buildScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'kube', 'build.sh');
const etcdutlScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'etcdutl', 'build.sh');

/**
 * Returns the cached binaries, running the build when any is missing. The build
 * prints its progress; a cold build takes minutes, a warm one is a cache check.
 */
export async function kubeBinaries(progress: (line: string) => void): Promise<KubeBinaries> {
  let dir = await runScript(buildScript, ['--print'], progress);
  const bins = binariesIn(dir);
  if (![bins.etcd, bins.kubeApiserver, bins.kubeControllerManager].every((f) => existsSync(f))) {
    progress('testenv: control-plane binaries missing; building them (test/kube/build.sh)');
    dir = await runScript(buildScript, [], progress);
  }
  return binariesIn(dir);
}

function binariesIn(dir: string): KubeBinaries {
  return {
    version: basename(dir).split('-')[0] ?? 'unknown',
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
  };
}

const provisionNames = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/**
 * The directory `drover server --kubernetes-binaries` serves, for `version`
 * (default: the one test/kube builds): `<cache>/provisioning/<version>/` with links
 * to the built control plane, kube-scheduler and etcdutl (test/etcdutl, for
 * snapshot restores), and the project's test node as
 * `kubelet` (marked so the planner gives it its own flags: this machine has no
 * container runtime that runs pods; docs/provisioning.md says why). Prints nothing;
 * returns the directory above the version folders.
 */
export async function provisioningBinaries(progress: (line: string) => void, version?: string): Promise<string> {
  let dir = await runScript(buildScript, ['--print'], progress);
  if (!provisionNames.every((n) => existsSync(join(dir, n)))) dir = await runScript(buildScript, [], progress);
  const built = basename(dir).split('-')[0] ?? '';
  if (version !== undefined && version !== built) {
    throw new Error(`testenv builds Kubernetes ${built} only (test/kube/go.mod); no binaries for ${version}`);
  }
  const kubelet = await runScript(buildScript, ['--test-kubelet'], progress);
  const etcdutl = await runScript(etcdutlScript, [], progress);
  const root = join(dirname(dir), 'provisioning');
  const target = join(root, built);
  mkdirSync(target, { recursive: true });
  const link = (from: string, name: string): void => {
    rmSync(join(target, name), { force: true });
    symlinkSync(from, join(target, name));
  };
  for (const name of provisionNames) link(join(dir, name), name);
  link(kubelet, 'kubelet');
  link(etcdutl, 'etcdutl');
  writeFileSync(join(target, 'kubelet.drover-test-kubelet'), 'the kubelet here is test/kubelet (drover-test-kubelet)\n');
  return root;
}
