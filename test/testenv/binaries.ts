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
/** The builder module of the earlier version provisioned clusters are upgraded from (test/kube-previous: no etcd of its own). */
const previousModule = join(dirname(fileURLToPath(import.meta.url)), '..', 'kube-previous');

/** Builds (when missing) the control plane of one builder module and returns its folder; `args` picks the module. */
async function builtControlPlane(progress: (line: string) => void, args: string[], names: readonly string[]): Promise<string> {
  const dir = await runScript(buildScript, [...args, '--print'], progress);
  return names.every((n) => existsSync(join(dir, n))) ? dir : runScript(buildScript, args, progress);
}

/** The two versions the test build offers: `current` (test/kube) and `previous` (test/kube-previous, what upgrade tests start from). */
export async function provisioningVersions(progress: (line: string) => void): Promise<{ current: string; previous: string }> {
  const version = async (args: string[]): Promise<string> => basename(await runScript(buildScript, [...args, '--print'], progress)).split('-')[0] ?? '';
  return { current: await version([]), previous: await version(['--module', previousModule]) };
}

/**
 * The directory `drover server --kubernetes-binaries` serves: `<cache>/provisioning/<version>/`
 * for both versions the test build offers (test/kube's, and test/kube-previous's, which
 * shares test/kube's etcd), each with links to the built control plane, kube-scheduler
 * and etcdutl (test/etcdutl, for snapshot restores), and the project's test node as
 * `kubelet` (marked so the planner gives it its own flags: this machine has no
 * container runtime that runs pods; docs/provisioning.md says why). Prints nothing;
 * returns the directory above the version folders. With `version`, refuses one the
 * test build does not offer.
 */
export async function provisioningBinaries(progress: (line: string) => void, version?: string): Promise<string> {
  const current = await builtControlPlane(progress, [], provisionNames);
  const previous = await builtControlPlane(progress, ['--module', previousModule], provisionNames.filter((n) => n !== 'etcd'));
  const built = [current, previous].map((dir) => ({ dir, version: basename(dir).split('-')[0] ?? '' }));
  if (version !== undefined && !built.some((b) => b.version === version)) {
    throw new Error(`testenv builds Kubernetes ${built.map((b) => b.version).join(' and ')} only (test/kube/go.mod, test/kube-previous/go.mod); no binaries for ${version}`);
  }
  const kubelet = await runScript(buildScript, ['--test-kubelet'], progress);
  const etcdutl = await runScript(etcdutlScript, [], progress);
  const root = join(dirname(current), 'provisioning');
  for (const { dir, version: v } of built) {
    const target = join(root, v);
    mkdirSync(target, { recursive: true });
    const link = (from: string, name: string): void => {
      rmSync(join(target, name), { force: true });
      symlinkSync(from, join(target, name));
    };
    for (const name of provisionNames) link(join(name === 'etcd' ? current : dir, name), name);
    link(kubelet, 'kubelet');
    link(etcdutl, 'etcdutl');
    writeFileSync(join(target, 'kubelet.drover-test-kubelet'), 'the kubelet here is test/kubelet (drover-test-kubelet)\n');
  }
  return root;
}
