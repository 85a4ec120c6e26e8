/**
 * The drover image: deploy/build-image.sh builds it with Debian's buildah from
 * deploy/Containerfile, offline, under the name the server's --agent-image setting
 * gives the import manifest. Containers cannot run here (crun: "cgroups in hybrid
 * mode not supported"), so its programs run from its own root filesystem with
 * buildah's chroot isolation, as the image's user, and from the exported OCI
 * archive's layers unpacked by hand, under chroot.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildah, buildahMissing, buildImage } from '../testenv/image.ts';
import { serverConfigFromFlags } from '../../src/server/index.ts';
import { droverVersion } from '../../src/version/index.ts';

interface ImageConfig { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string; Labels: Record<string, string> }

const progress = (line: string): void => { process.stderr.write(`${line}\n`); };

describe('the drover image (deploy/build-image.sh with buildah)', { skip: buildahMissing() ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-image-'));
  const archive = join(dir, 'drover.oci.tar');
  let image: string;
  let config: ImageConfig;
  let container: string;

  before(async () => {
    // Cold: about a minute on 2 idle cores (compile, prune, copy, commit); cached by content key afterwards.
    image = await buildImage(progress, ['--oci-archive', archive]);
    const inspected = await buildah(['inspect', '--type', 'image', image]);
    assert.equal(inspected.code, 0, inspected.stderr);
    config = (JSON.parse(inspected.stdout) as { OCIv1: { config: ImageConfig } }).OCIv1.config;
    const from = await buildah(['from', '--pull-never', image]);
    assert.equal(from.code, 0, from.stderr);
    container = from.stdout.trim();
  });

  after(async () => {
    if (container) await buildah(['rm', container]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a command inside the image's root filesystem (chroot isolation), as the image's user and working directory. */
  const inImage = (argv: string[]): ReturnType<typeof buildah> => buildah(['run', '--isolation', 'chroot', container, '--', ...argv]);

  it('carries the name the server gives the import manifest by default', () => {
    assert.equal(image, serverConfigFromFlags({}).agentImage);
    assert.equal(image, `drover/drover:${droverVersion}`);
  });

  it('starts drover as a non-root user, with the agent as the default command and labels naming the version', () => {
    assert.deepEqual(config.Entrypoint, ['/usr/local/bin/drover']);
    assert.deepEqual(config.Cmd, ['agent', '--mode', 'cluster']);
    assert.equal(config.User, '1000:1000');
    assert.equal(config.WorkingDir, '/opt/drover');
    assert.equal(config.Labels['org.opencontainers.image.version'], droverVersion);
    assert.match(config.Labels['io.drover.content-key'] ?? '', /^[0-9a-f]{16}$/);
  });

  it('runs its entrypoint from its own root filesystem: version, agent --help, kube-api-auth --help', async () => {
    const version = await inImage([...config.Entrypoint, 'version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, new RegExp(`^drover ${droverVersion.replaceAll('.', '\\.')} \\(node v24\\.`));
    for (const [command, usage] of [['agent', /Usage: drover agent/], ['kube-api-auth', /Usage: drover kube-api-auth/]] as const) {
      const help = await inImage([...config.Entrypoint, command, '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, usage);
    }
  });

  it('runs as uid 1000 named drover, loads the native modules, and holds production dependencies only', async () => {
    const probe = await inImage(['/usr/local/bin/node', '-e', [
      "const { createRequire } = require('node:module'); const req = createRequire('/opt/drover/package.json');",
      "req('better-sqlite3'); req('@node-rs/argon2');",
      "let dev = 'absent'; try { req.resolve('typescript'); dev = 'present'; } catch {}",
      "console.log(process.getuid(), require('node:os').userInfo().username, dev, require('node:fs').existsSync('/etc/ssl/certs/ca-certificates.crt'));",
    ].join(' ')]);
    assert.equal(probe.code, 0, probe.stderr);
    assert.equal(probe.stdout.trim(), '1000 drover absent true');
  });

  it('exports an OCI archive whose unpacked layers run the entrypoint under chroot', () => {
    const oci = join(dir, 'oci');
    const rootfs = join(dir, 'rootfs');
    mkdirSync(oci);
    mkdirSync(rootfs);
    execFileSync('tar', ['-xf', archive, '-C', oci]);
    const blob = (digest: string): string => join(oci, 'blobs', ...digest.split(':'));
    const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifest = JSON.parse(readFileSync(blob(index.manifests[0]?.digest ?? ''), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
    const archived = (JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')) as { config: ImageConfig }).config;
    assert.deepEqual(archived.Entrypoint, config.Entrypoint);
    for (const layer of manifest.layers) execFileSync('tar', ['-xzf', blob(layer.digest), '-C', rootfs]);
    // unshare -r: chroot needs CAP_SYS_CHROOT, which a user namespace gives a non-root user too.
    const version = execFileSync('unshare', ['-r', 'chroot', rootfs, ...archived.Entrypoint, 'version'], { encoding: 'utf8' });
    assert.match(version, new RegExp(`^drover ${droverVersion.replaceAll('.', '\\.')} `));
  });
});
