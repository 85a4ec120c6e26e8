/**
 * The provisioning binaries with the REAL kubelet (test/kubelet-real, built from
 * Go modules) in place of the project's test node, for the tests whose worker runs
 * pods under containerd (test/testenv/containerd.ts). A directory of its own beside
 * the one provisioningBinaries fills, so tests using either can run at once: the
 * same links but `kubelet`, and no test-node marker, so the planner gives the
 * kubelet its real configuration (src/provisioning/kubelet-config.ts).
 */
import { existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { provisioningBinaries } from './binaries.ts';
import { runScript } from './processes.ts';

const buildScript = join(import.meta.dirname, '..', 'kubelet-real', 'build.sh');

/** Returns the directory above the version folder, as provisioningBinaries does. */
export async function realKubeletBinaries(progress: (line: string) => void): Promise<string> {
  const kubelet = await runScript(buildScript, [], progress);
  // The build's cache folder is `kubelet-<version>-<key>`: the version test/kubelet-real/go.mod pins.
  const version = basename(dirname(kubelet)).split('-')[1] ?? '';
  const testRoot = await provisioningBinaries(progress, version);
  const root = join(dirname(testRoot), 'provisioning-real-kubelet');
  const target = join(root, version);
  mkdirSync(target, { recursive: true });
  const link = (from: string, name: string): void => {
    rmSync(join(target, name), { force: true });
    symlinkSync(from, join(target, name));
  };
  for (const name of readdirSync(join(testRoot, version))) {
    const from = join(testRoot, version, name);
    // The test node and its marker stay behind: this directory's kubelet is the real one.
    if (name.startsWith('kubelet') || !existsSync(from)) continue;
    link(readlinkSync(from), name);
  }
  link(kubelet, 'kubelet');
  return root;
}
