/**
 * Mutation testing of the security core (`npm run mutate`; not part of `npm test`).
 * See docs/testing.md ("Mutation testing") for the scores and every surviving mutant.
 *
 * `securityCore` is the one list of guarded files: each is mutated and checked by the
 * unit test beside it (`x.ts` → `x.test.ts`). Move a file, change its line here.
 */

/** @type {string[]} */
const securityCore = [
  'src/proxy/caller-headers.ts',
  'src/proxy/forward.ts',
  'src/proxy/upgrade.ts',
  'src/impersonation/impersonation-checks.ts',
  'src/tokens/token.ts',
  'src/identity/token-authenticator.ts',
  'src/kube-api-auth/token-authenticator.ts',
  'src/access/escalation-guard.ts',
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: securityCore,
  testRunner: 'tap',
  tap: {
    testFiles: securityCore.map((file) => file.replace(/\.ts$/, '.test.ts')),
    // Node's own test runner under tsx, printing TAP; the hook records which test file covers which mutant.
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  // One node process per test file: a mutant runs only the test files that reach it.
  coverageAnalysis: 'perTest',
  // Two shared cores.
  concurrency: 2,
  // Test time varies a lot on a shared machine: a generous bound keeps a slow run from counting as a kill,
  // while a mutant that hangs a socket (forward, upgrade) is given up on after seconds, not minutes.
  timeoutMS: 10_000,
  timeoutFactor: 2,
  // Re-test only mutants whose code or tests changed since the last run (reports/ stays out of git).
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  ignorePatterns: ['/ui', '/bench', '/deploy', '/docs', '/reports', '/dist'],
  reporters: ['clear-text', 'html', 'json', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
