/**
 * A `--kubernetes-binaries` directory for upgrade tests: the test build's two
 * versions, plus a newer one whose kube-apiserver exits at once (the current
 * version's other binaries beside it), so an upgrade to it stops at its first node
 * with a reason. `fix()` puts the current kube-apiserver in its place, and the same
 * upgrade asked for again then finishes.
 */
import { chmodSync, mkdirSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisioningBinaries, provisioningVersions } from './binaries.ts';

export interface UpgradeBinaries {
  /** The directory to give `drover server --kubernetes-binaries`. */
  dir: string;
  versions: { current: string; previous: string };
  /** The version whose kube-apiserver fails until `fix()`. */
  broken: string;
  fix: () => void;
}

export async function upgradeBinaries(under: string, progress: (line: string) => void): Promise<UpgradeBinaries> {
  const built = await provisioningBinaries(progress);
  const versions = await provisioningVersions(progress);
  const broken = 'v1.36.99';
  const dir = join(under, 'binaries');
  const brokenApiserver = join(dir, broken, 'kube-apiserver');
  mkdirSync(join(dir, broken), { recursive: true });
  for (const v of [versions.previous, versions.current]) symlinkSync(join(built, v), join(dir, v));
  for (const file of readdirSync(join(built, versions.current))) {
    if (file !== 'kube-apiserver') symlinkSync(realpathSync(join(built, versions.current, file)), join(dir, broken, file));
  }
  writeFileSync(brokenApiserver, '#!/bin/sh\necho "kube-apiserver: broken on purpose by the upgrade test" >&2\nexit 1\n');
  chmodSync(brokenApiserver, 0o755);
  return {
    dir, versions, broken,
    fix: () => {
      rmSync(brokenApiserver);
      symlinkSync(realpathSync(join(dir, versions.current, 'kube-apiserver')), brokenApiserver);
    },
  };
}
