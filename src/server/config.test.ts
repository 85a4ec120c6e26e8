import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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

  it('advertises the listen address to other replicas unless --advertise-address names one', () => {
    assert.equal(serverConfigFromFlags({ listen: '10.1.2.3:9443' }).advertiseAddress, '10.1.2.3:9443');
    assert.match(serverConfigFromFlags({ listen: ':9443' }).advertiseAddress, /^\d+\.\d+\.\d+\.\d+:9443$/);
    assert.equal(serverConfigFromFlags({ advertiseAddress: 'drover-0.drover:8443' }).advertiseAddress, 'drover-0.drover:8443');
    assert.equal(serverConfigFromFlags({ advertiseAddress: '[fd00::1]:8443' }).advertiseAddress, '[fd00::1]:8443');
    for (const bad of ['0.0.0.0:8443', 'host', 'host:0', 'https://host:8443', '[::]:8443']) {
      assert.throws(() => serverConfigFromFlags({ advertiseAddress: bad }), /--advertise-address: expected HOST:PORT that other replicas can reach/, bad);
    }
  });

  it('runs one process per core on PostgreSQL and one on SQLite unless --workers says otherwise, and more than one only on PostgreSQL', () => {
    assert.equal(serverConfigFromFlags({}).workers, 1);
    assert.equal(serverConfigFromFlags({ db: 'sqlite:/tmp/x.db' }).workers, 1);
    assert.equal(serverConfigFromFlags({ db: 'postgres://db/drover' }).workers, Math.min(availableParallelism(), 64));
    assert.equal(serverConfigFromFlags({ workers: '1', db: 'postgres://db/drover' }).workers, 1);
    assert.equal(serverConfigFromFlags({ workers: '4', db: 'postgres://db/drover' }).workers, 4);
    assert.throws(() => serverConfigFromFlags({ workers: '2' }), /--workers: expected 1 with SQLite/);
    for (const bad of ['0', '-1', 'two', '1.5', '65']) assert.throws(() => serverConfigFromFlags({ workers: bad, db: 'postgres://db/x' }), /--workers: expected a whole number from 1 to 64/, bad);
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

  it('stops without a delay unless --shutdown-delay asks for one, and refuses one that is no duration', () => {
    assert.equal(serverConfigFromFlags({}, {}).shutdownDelayMs, 0);
    assert.equal(serverConfigFromFlags({ shutdownDelay: '5s' }, {}).shutdownDelayMs, 5000);
    assert.throws(() => serverConfigFromFlags({ shutdownDelay: 'soon' }, {}), /--shutdown-delay/);
  });
});

describe('the environment of drover server', () => {
  it('gives kubeconfigs generated tokens of 30 days with a 90-day maximum by default', () => {
    assert.deepEqual(serverConfigFromFlags({}).kubeconfigDefaults, { defaultTtlSeconds: 30 * 86400, maxTtlSeconds: 90 * 86400, generateToken: true });
  });
  it('refuses a kubeconfig default above the maximum, a bad number and a bad switch at startup, naming the variable', () => {
    for (const [env, name] of [
      [{ DROVER_KUBECONFIG_TOKEN_TTL_SECONDS: '7200', DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS: '3600' }, 'DROVER_KUBECONFIG_TOKEN_TTL_SECONDS'],
      [{ DROVER_KUBECONFIG_TOKEN_TTL_SECONDS: '-1' }, 'DROVER_KUBECONFIG_TOKEN_TTL_SECONDS'],
      [{ DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS: '1.5' }, 'DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS'],
      [{ DROVER_KUBECONFIG_GENERATE_TOKEN: 'no' }, 'DROVER_KUBECONFIG_GENERATE_TOKEN'],
    ] as const) assert.throws(() => serverConfigFromFlags({}, env), (e: Error) => e.message.includes(`${name}: expected`), JSON.stringify(env));
    assert.throws(() => serverConfigFromFlags({}, { DROVER_KUBECONFIG_TOKEN_TTL_SECONDS: '30' }), /DROVER_KUBECONFIG_TOKEN_TTL_SECONDS: expected a whole number of seconds from 60/);
    assert.throws(() => serverConfigFromFlags({}, { DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS: '1e9' }), /DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS/);
  });
  it('caps the kubeconfig default to a smaller maximum and can switch to the exec plugin', () => {
    assert.deepEqual(serverConfigFromFlags({}, { DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS: '3600', DROVER_KUBECONFIG_GENERATE_TOKEN: 'false' }).kubeconfigDefaults,
      { defaultTtlSeconds: 3600, maxTtlSeconds: 3600, generateToken: false });
  });
  it('reads the provider refresh interval, 120 s by default, and refuses a typo', () => {
    assert.equal(serverConfigFromFlags({}).providerRefreshMs, 120_000);
    assert.equal(serverConfigFromFlags({}, { DROVER_PROVIDER_REFRESH_SECONDS: '1' }).providerRefreshMs, 1000);
    for (const bad of ['0', '2m', 'NaN']) assert.throws(() => serverConfigFromFlags({}, { DROVER_PROVIDER_REFRESH_SECONDS: bad }), /DROVER_PROVIDER_REFRESH_SECONDS: expected a whole number of seconds/);
  });
  it('takes the bootstrap password and a valid encryption key, and refuses a key of the wrong size', () => {
    const hex = 'ab'.repeat(32);
    const config = serverConfigFromFlags({}, { DROVER_BOOTSTRAP_PASSWORD: 'operator-chosen-pw', DROVER_ENCRYPTION_KEY: hex });
    assert.equal(config.bootstrapPassword, 'operator-chosen-pw');
    assert.equal(config.encryptionKey?.toString('hex'), hex);
    const unset = serverConfigFromFlags({}, { DROVER_BOOTSTRAP_PASSWORD: '', DROVER_ENCRYPTION_KEY: '' });
    assert.equal(unset.bootstrapPassword, undefined);
    assert.equal(unset.encryptionKey, undefined);
    assert.throws(() => serverConfigFromFlags({}, { DROVER_ENCRYPTION_KEY: 'abcd' }), /DROVER_ENCRYPTION_KEY: expected 32 bytes/);
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
      const config = serverConfigFromFlags({ dataDir, listen: `127.0.0.1:${port}` }, { DROVER_BOOTSTRAP_PASSWORD: 'busy-port-password' });
      await assert.rejects(startServer(config, { logger: silentLogger(), announce: () => undefined }),
        /cannot listen on 127\.0\.0\.1:\d+: the address is already in use \(is another drover server running\?\); stop it or choose another --listen/);
      assert.equal(existsSync(dataDir), false, 'no data dir was created');
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
