/**
 * The Kubernetes binaries the server hands node agents: `DIR/<version>/<name>`
 * for the six names below (etcd's release carries `etcdutl`, which restores
 * snapshots) (`drover server --kubernetes-binaries DIR`). A version
 * is offered only when all six are there; each file's SHA-256 is computed once per
 * (size, mtime) and goes into the plan, so a node agent checks what it downloaded
 * against what the server planned, not against a header of the same answer.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync, type ReadStream } from 'node:fs';
import { join } from 'node:path';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';

export const binaryNames = ['etcd', 'etcdutl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'] as const;
export type BinaryName = (typeof binaryNames)[number];

/** `vMAJOR.MINOR.PATCH` with an optional pre-release: also keeps `..` and `/` out of paths. */
const versionPattern = /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]{1,40})?$/;

/**
 * A marker file beside the binaries saying the kubelet is Drover's test node
 * (test/kubelet), which takes its own flags; production directories never hold it.
 */
export const testKubeletMarker = 'kubelet.drover-test-kubelet';

export interface BinarySet {
  version: string;
  /** Hex SHA-256 per binary. */
  sha256: Record<BinaryName, string>;
  kubelet: 'kubelet' | 'drover-test-kubelet';
}

export function isBinaryName(name: string): name is BinaryName {
  return (binaryNames as readonly string[]).includes(name);
}

export class KubernetesBinaries {
  private readonly digests = new Map<string, { key: string; sha256: string }>();

  constructor(private readonly dir: string | undefined) {
    if (dir !== undefined && !existsSync(dir)) throw new InvalidArgumentError('--kubernetes-binaries', 'an existing directory', dir);
  }

  /** The versions with all six binaries present. */
  versions(): string[] {
    if (!this.dir) return [];
    const dir = this.dir;
    return readdirSync(dir).filter((v) => versionPattern.test(v) && binaryNames.every((n) => existsSync(join(dir, v, n))))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true })); // v1.9.0 before v1.10.0: newest last
  }

  /** Refuses up front a version the server cannot hand out, naming what it can. */
  assertVersion(version: string): void {
    if (!this.dir) {
      throw new DroverError('DRV_ERR_INVALID_ARGUMENT', 'this server has no Kubernetes binaries to provision with: start it with --kubernetes-binaries DIR (see docs/provisioning.md)');
    }
    if (!versionPattern.test(version) || !this.versions().includes(version)) {
      throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `unknown Kubernetes version "${version.slice(0, 60)}": this server offers ${this.versions().join(', ') || 'none'} `
        + `(each is a folder of ${this.dir} holding ${binaryNames.join(', ')})`);
    }
  }

  /** The checksums of one version (computed on first use, then when a file changes). */
  async set(version: string): Promise<BinarySet> {
    this.assertVersion(version);
    const sha256 = {} as Record<BinaryName, string>;
    for (const name of binaryNames) sha256[name] = await this.digest(version, name);
    const kubelet = existsSync(join(this.dir as string, version, testKubeletMarker)) ? 'drover-test-kubelet' : 'kubelet';
    return { version, sha256, kubelet };
  }

  /** The file's bytes and size, for the download route. */
  open(version: string, name: string): { stream: ReadStream; size: number } {
    this.assertVersion(version);
    if (!isBinaryName(name)) throw new DroverError('DRV_ERR_NOT_FOUND', `no Kubernetes binary "${name.slice(0, 40)}": the names are ${binaryNames.join(', ')}`);
    const path = join(this.dir as string, version, name);
    return { stream: createReadStream(path), size: statSync(path).size };
  }

  private async digest(version: string, name: BinaryName): Promise<string> {
    const path = join(this.dir as string, version, name);
    const stat = statSync(path);
    const key = `${stat.size}:${stat.mtimeMs}`;
    const cached = this.digests.get(path);
    if (cached?.key === key) return cached.sha256;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    this.digests.set(path, { key, sha256 });
    return sha256;
  }
}
