/**
 * Identity costs, measured side by side in one run on SQLite:
 * - a cached token check (what the proxy pays per request): ops/s and µs/op;
 * - an uncached check (cache disabled: one indexed join per check);
 * - the SHA3-512 verify alone, the floor of any check;
 * - password login latency p50/p99 (argon2id dominated).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CachedTokenAuthenticator, createIdentity } from '../src/identity/index.ts';
import { silentLogger } from '../src/logging/index.ts';
import { hashTokenSecret, parseToken, verifyTokenSecret } from '../src/tokens/index.ts';
import { openStore } from '../src/store/index.ts';
import { latencyStats, type BenchContext, type BenchResult } from './bench.ts';

async function timeLoop(n: number, fn: () => unknown): Promise<{ opsPerSecond: number; microsPerOp: number }> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const ms = performance.now() - start;
  return { opsPerSecond: Math.round((n * 1000) / ms), microsPerOp: Number(((ms * 1000) / n).toFixed(2)) };
}

export default async function identityBench(ctx: BenchContext): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-bench-identity-'));
  const store = await openStore({ dataDir: dir });
  try {
    const logger = silentLogger();
    const identity = createIdentity({ store, logger, throttle: { perUsername: { slowdownMs: 0 }, perAddress: { slowdownMs: 0 } } });
    const password = 'benchmark-password-123';
    const user = await identity.users.create({ username: 'bench', password });
    const { value } = await identity.tokens.issue({ userId: user.id, kind: 'api', authProvider: 'local' });
    const header = `Bearer ${value}`;

    ctx.progress('cached token checks');
    await timeLoop(20_000, () => identity.authenticator.authenticate(header));
    const cached = await timeLoop(200_000, () => identity.authenticator.authenticate(header));

    ctx.progress('uncached token checks');
    const uncachedAuth = new CachedTokenAuthenticator({ tokens: identity.tokens, clock: Date.now, logger, recheckMs: -1 });
    await timeLoop(500, () => uncachedAuth.authenticate(header));
    const uncached = await timeLoop(10_000, () => uncachedAuth.authenticate(header));

    ctx.progress('sha3 verify alone');
    const { secret } = parseToken(value);
    const stored = hashTokenSecret(secret);
    const sha3 = await timeLoop(200_000, () => verifyTokenSecret(secret, stored));

    ctx.progress('password logins');
    const durations: number[] = [];
    const wallStart = performance.now();
    for (let i = 0; i < 40; i++) {
      const t = performance.now();
      await identity.login.login({ username: 'bench', password, address: '127.0.0.1' });
      durations.push(performance.now() - t);
    }
    const login = latencyStats(durations, performance.now() - wallStart);

    const ratio = Math.round(uncached.microsPerOp / cached.microsPerOp);
    const summary = [
      `| measure | ops/s | µs/op |`,
      `| --- | ---: | ---: |`,
      `| cached token check (authenticate) | ${cached.opsPerSecond} | ${cached.microsPerOp} |`,
      `| uncached token check (SQLite join + verify) | ${uncached.opsPerSecond} | ${uncached.microsPerOp} |`,
      `| SHA3-512 verify alone | ${sha3.opsPerSecond} | ${sha3.microsPerOp} |`,
      '',
      `Cached check is ${ratio}x cheaper than uncached. Password login (argon2id 19 MiB, t=2): p50 ${login.p50Ms.toFixed(1)} ms, p99 ${login.p99Ms.toFixed(1)} ms over ${login.count} logins.`,
    ].join('\n');
    return { summary, figures: { cached, uncached, sha3Verify: sha3, uncachedOverCached: ratio, login } };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
