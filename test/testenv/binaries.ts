/** Locates (building if needed) the control-plane binaries from test/kube/build.sh. */
import { existsSync } from 'node:fs';
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
