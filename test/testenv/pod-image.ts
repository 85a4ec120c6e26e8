/**
 * The image pods run on a test worker with the real kubelet: FROM scratch with one
 * static binary (test/pod-image, `/drover-pod`), written as an OCI image layout in
 * a tar archive that `ctr images import` takes. There is no registry here, so the
 * image is made locally; writing the layout (a layer tar, a config, a manifest and
 * an index naming the image) needs no image builder and no storage of its own.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScript } from './processes.ts';

const buildScript = join(import.meta.dirname, '..', 'pod-image', 'build.sh');

/** The image's name as pods and containerd's sandbox_image name it (never pulled: imagePullPolicy Never). */
export const podImage = 'localhost/drover-pod:test';

/** Writes the image archive under `dir` and returns its path. */
export async function writePodImage(dir: string, progress: (line: string) => void): Promise<string> {
  const binary = await runScript(buildScript, [], progress);
  const layout = join(dir, 'image-layout');
  const rootfs = join(dir, 'image-rootfs');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  mkdirSync(rootfs, { recursive: true });
  copyFileSync(binary, join(rootfs, 'drover-pod'));
  execFileSync('chmod', ['0755', join(rootfs, 'drover-pod')]);
  const layerFile = join(dir, 'layer.tar');
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', layerFile, 'drover-pod']);
  const blob = (content: Buffer | string): { digest: string; size: number } => {
    const bytes = Buffer.from(content);
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(layout, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layer = blob(readFileSync(layerFile));
  const platform = { architecture: 'amd64', os: 'linux' };
  const config = blob(JSON.stringify({
    ...platform, config: { Entrypoint: ['/drover-pod'] }, rootfs: { type: 'layers', diff_ids: [layer.digest] },
  }));
  const manifest = blob(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  }));
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform,
      // containerd names an imported image after this annotation.
      annotations: { 'io.containerd.image.name': podImage, 'org.opencontainers.image.ref.name': 'test' },
    }],
  }));
  const archive = join(dir, 'drover-pod.oci.tar');
  execFileSync('tar', ['-C', layout, '-cf', archive, '.']);
  return archive;
}
