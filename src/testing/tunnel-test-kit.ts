/** What each tunnel test file sets up the same way: one PKI, unique cluster ids, harnesses stopped after its tests. */
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { makeTestPki, startTunnelHarness, type HarnessOptions, type TestPki, type TunnelHarness } from './tunnel.ts';

export interface TunnelTestKit {
  pki: TestPki;
  /** A cluster id no other test of the file uses. */
  unique: () => string;
  /** Run after the file's tests, newest first (harnesses are pushed here by harnessFor). */
  cleanups: (() => Promise<void> | void)[];
  harnessFor: (options?: HarnessOptions) => Promise<TunnelHarness>;
}

/** Call once at the top of a test file. */
export function tunnelTestKit(): TunnelTestKit {
  const pki = makeTestPki();
  const cleanups: TunnelTestKit['cleanups'] = [];
  after(async () => { for (const c of cleanups.reverse()) await c(); });
  return {
    pki,
    unique: () => `c-${randomBytes(4).toString('hex')}`,
    cleanups,
    harnessFor: async (options = {}) => {
      const h = await startTunnelHarness({ pki, ...options });
      cleanups.push(() => h.stop());
      return h;
    },
  };
}
