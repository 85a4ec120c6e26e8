import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logging/index.ts';
import { droverVersion } from '../version/index.ts';
import { serverConfigFromFlags, startServer } from './index.ts';
import { caChecksum, passwordNotice, startupSummary, summaryFields } from './startup-summary.ts';

describe('drover server defaults', () => {
  it('listens on loopback and prints the URL that answers there', () => {
    const config = serverConfigFromFlags({});
    assert.equal(`${config.listenHost}:${config.listenPort}`, '127.0.0.1:8443');
    assert.equal(config.publicUrl, 'https://127.0.0.1:8443');
  });

  it('on a wildcard listen without --public-url uses an address, never a bare hostname', () => {
    const config = serverConfigFromFlags({ listen: '0.0.0.0:9443' });
    assert.match(config.publicUrl, /^https:\/\/\d+\.\d+\.\d+\.\d+:9443$/);
    assert.equal(config.publicUrlSource, 'first network address');
  });

  it('takes --log-level and --log-format over DROVER_LOG_LEVEL and DROVER_LOG_FORMAT', () => {
    const env = { DROVER_LOG_LEVEL: 'debug', DROVER_LOG_FORMAT: 'json' };
    assert.deepEqual(pick(serverConfigFromFlags({}, env)), { logLevel: 'debug', logFormat: 'json' });
    assert.deepEqual(pick(serverConfigFromFlags({ logLevel: 'warn', logFormat: 'text' }, env)), { logLevel: 'warn', logFormat: 'text' });
    assert.deepEqual(pick(serverConfigFromFlags({})), { logLevel: 'info', logFormat: 'auto' });
  });

  it('names the agent image with --agent-image, else DROVER_AGENT_IMAGE, else the version build-image.sh tags', () => {
    const env = { DROVER_AGENT_IMAGE: 'registry.example:5000/ops/drover:1.2.3' };
    assert.equal(serverConfigFromFlags({}).agentImage, `drover/drover:${droverVersion}`);
    assert.equal(serverConfigFromFlags({}, env).agentImage, 'registry.example:5000/ops/drover:1.2.3');
    assert.equal(serverConfigFromFlags({ agentImage: `ghcr.io/acme/drover@sha256:${'a'.repeat(64)}` }, env).agentImage, `ghcr.io/acme/drover@sha256:${'a'.repeat(64)}`);
  });

  it('refuses an agent image that is no image reference, naming where it came from', () => {
    for (const bad of ['drover drover:1', 'Drover/Drover:1', 'drover:1\nkind: Secret', '-x', 'drover/drover:']) {
      assert.throws(() => serverConfigFromFlags({ agentImage: bad }), /--agent-image: expected an image reference/);
    }
    assert.throws(() => serverConfigFromFlags({}, { DROVER_AGENT_IMAGE: 'a b' }), /DROVER_AGENT_IMAGE: expected an image reference/);
  });

  it('refuses a typo in any numeric variable at start, naming it, and reports every mistake at once', () => {
    assert.throws(() => serverConfigFromFlags({}, { DROVER_RBAC_RESYNC_MS: '15OO' }), /DROVER_RBAC_RESYNC_MS: expected a whole number of milliseconds/);
    assert.throws(() => serverConfigFromFlags({}, { DROVER_CLUSTER_GRACE_MS: '-5' }), /DROVER_CLUSTER_GRACE_MS/);
    assert.throws(() => serverConfigFromFlags({}, { DROVER_ACE_SYNC_MS: '2s' }), /DROVER_ACE_SYNC_MS/);
    assert.throws(() => serverConfigFromFlags({ listen: 'nope', logLevel: 'loud' }, { DROVER_ACE_SYNC_MS: 'x' }),
      (error: Error) => ['--listen', '--log-level', 'DROVER_ACE_SYNC_MS'].every((name) => error.message.includes(name)));
    assert.deepEqual(serverConfigFromFlags({}, { DROVER_RBAC_RESYNC_MS: '500', DROVER_CLUSTER_GRACE_MS: ' 1500 ' }).tuning, { rbacResyncMs: 500, clusterGraceMs: 1500 });
  });

  it('re-reads every in-memory view every 30 s by default (the change feed\'s safety net), or every DROVER_RESYNC_MS', () => {
    assert.equal(serverConfigFromFlags({}, {}).resyncMs, 30_000);
    assert.equal(serverConfigFromFlags({}, { DROVER_RESYNC_MS: '5000' }).resyncMs, 5000);
    assert.throws(() => serverConfigFromFlags({}, { DROVER_RESYNC_MS: '0' }), /DROVER_RESYNC_MS/);
  });
});

function pick(config: { logLevel: string; logFormat: string }): { logLevel: string; logFormat: string } {
  return { logLevel: config.logLevel, logFormat: config.logFormat };
}

describe('the start-up summary', () => {
  const config = serverConfigFromFlags({ listen: '127.0.0.1:8443' });
  const ca = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n';

  it('gives the URL, the CA checksum that /cacerts hashes to, and the one-off password', () => {
    const text = startupSummary(config, 8443, ca, { kind: 'generated', password: 'pw-shown-once' });
    assert.match(text, /Open: +https:\/\/127\.0\.0\.1:8443 /);
    assert.ok(text.includes(`CA checksum: ${caChecksum(ca)}`));
    assert.equal(caChecksum(ca).length, 64);
    assert.ok(text.includes('--ca-checksum'));
    assert.ok(text.includes('    pw-shown-once'));
  });

  it('with JSON logs: one log line without the password, and the generated password alone as text', () => {
    const fields = summaryFields(config, 8443, ca, { kind: 'generated', password: 'pw-shown-once' });
    assert.deepEqual(fields, { url: 'https://127.0.0.1:8443', listen: '127.0.0.1:8443', caChecksum: caChecksum(ca), adminPassword: 'printed once on stderr' });
    assert.match(passwordNotice('pw-shown-once'), /password is shown only this once:\n {4}pw-shown-once\n/);
  });

  it('says where the password is when Drover did not choose it', () => {
    assert.match(startupSummary(config, 8443, ca, { kind: 'from-env' }), /DROVER_BOOTSTRAP_PASSWORD/);
    assert.match(startupSummary(config, 8443, ca, { kind: 'existing' }), /already set up/);
  });
});

describe('a second server on a busy port', () => {
  it('fails before creating a data dir, database or admin, and says what to do', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (busy.address() as { port: number }).port;
    const parent = mkdtempSync(join(tmpdir(), 'drover-busy-'));
    const dataDir = join(parent, 'data');
    try {
      const config = serverConfigFromFlags({ dataDir, listen: `127.0.0.1:${port}` });
      await assert.rejects(startServer(config, { env: { DROVER_BOOTSTRAP_PASSWORD: 'busy-port-password' }, logger: silentLogger(), announce: () => undefined }),
        /cannot listen on 127\.0\.0\.1:\d+: the address is already in use \(is another drover server running\?\); stop it or choose another --listen/);
      assert.equal(existsSync(dataDir), false, 'no data dir was created');
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
