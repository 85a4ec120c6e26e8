/** Locates (building if needed) the control-plane binaries from test/kube/build.sh. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  let dir = await runBuild(['--print'], progress);
  const bins = binariesIn(dir);
  if (![bins.etcd, bins.kubeApiserver, bins.kubeControllerManager].every((f) => existsSync(f))) {
    progress('testenv: control-plane binaries missing; building them (test/kube/build.sh)');
    dir = await runBuild([], progress);
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

function runBuild(args: string[], progress: (line: string) => void): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [buildScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) progress(line);
    });
    child.on('error', reject);
    // 'close', not 'exit': only then has all of stdout been read.
    child.on('close', (code) => {
      const dir = out.trim().split('\n').pop();
      if (code === 0 && dir) resolvePromise(dir);
      else reject(new Error(`test/kube/build.sh failed (exit ${code}); run it by hand to see why`));
    });
  });
}
