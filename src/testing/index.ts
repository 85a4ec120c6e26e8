/**
 * testing/: fakes and fixtures shared by unit tests, e2e tests and benches (the
 * refusal assertions, the in-process CLI, the tunnel harness with its throwaway
 * PKI). Left out of the build (tsconfig.build.json), so none of it ships in dist/.
 */
export { refusal, refused } from './refusal.ts';
export { runCliForTest, type CliResult } from './cli.ts';
export {
  makeTestPki, rawUpgrade, startRelay, startTarget, startTunnelHarness, testAuthenticate, until,
  type HarnessOptions, type Relay, type TestPki, type TestTarget, type TunnelHarness,
} from './tunnel.ts';
export { tunnelTestKit, type TunnelTestKit } from './tunnel-test-kit.ts';
export { selfSignedCaPem } from './certificates.ts';
