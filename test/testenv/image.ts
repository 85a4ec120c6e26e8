/**
 * The drover image, built by deploy/build-image.sh into a buildah storage of the
 * suite's own (outside git, beside the control-plane cache), reused while its
 * content key matches. Containers cannot run on these machines (crun refuses
 * cgroups in hybrid mode; deploy/README.md), so tests run the image's programs
 * with buildah's chroot isolation instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runScript } from './processes.ts';

const buildScript = join(import.meta.dirname, '..', '..', 'deploy', 'build-image.sh');
const storage = process.env.DROVER_IMAGE_STORAGE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'drover', 'image');
/** The flags that point buildah at the storage build-image.sh used (it reads DROVER_IMAGE_STORAGE the same way). */
const storageFlags = ['--storage-driver', 'vfs', '--root', join(storage, 'root'), '--runroot', join(storage, 'run')];

/** Why the image cannot be built here, or undefined when buildah is installed. */
export function buildahMissing(): string | undefined {
  return spawnSync('buildah', ['--version']).status === 0 ? undefined : 'buildah is not installed (scripts/setup.sh installs it): the image cannot be built';
}

export interface BuildahResult { code: number; stdout: string; stderr: string }

/** Runs buildah on the suite's image storage; never throws. */
export function buildah(args: string[]): Promise<BuildahResult> {
  return new Promise((resolvePromise) => {
    const child = spawn('buildah', [...storageFlags, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', (error) => { resolvePromise({ code: -1, stdout, stderr: error.message }); });
    child.on('close', (code) => { resolvePromise({ code: code ?? -1, stdout, stderr }); });
  });
}

/** Builds (or reuses) the image and returns its name; extra flags go to build-image.sh (--oci-archive FILE). */
export function buildImage(progress: (line: string) => void, extra: string[] = []): Promise<string> {
  return runScript(buildScript, extra, progress, { ...process.env, DROVER_IMAGE_STORAGE: storage });
}
