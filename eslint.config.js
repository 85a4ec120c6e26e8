// Lint rules: typescript-eslint's type-aware recommended set, plus the guardrails
// from STYLE.md (short functions, explicit exceptions with reasons) and the folder
// pyramid of src/ (eslint/folder-layers.js).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import drover from './eslint/folder-layers.js';

/**
 * The folder pyramid of src/, lowest layer first (docs/architecture.md, "Folder
 * pyramid"): a folder imports only folders of lower layers, through their index.ts.
 * Folders of one layer do not import each other.
 */
const folderLayers = [
  ['errors'],
  ['logging', 'tokens', 'durations', 'env', 'version', 'agent-protocol', 'addresses', 'api-types', 'principals', 'certificates'],
  ['kube', 'store', 'tunnel', 'http', 'coordination'],
  ['identity', 'downstream', 'audit'],
  ['impersonation', 'clusters'],
  ['access', 'proxy', 'kube-api-auth', 'agent', 'api', 'provisioning', 'web-shell'],
  ['replicas'],
  ['server'],
  ['cli'],
  ['testing'],
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test/kube/**', 'src/ui/dist/**', 'reports/**', '.stryker-tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    plugins: { drover },
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: { allowDefaultProject: ['stryker.config.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }],
      'max-depth': ['error', 4],
      'no-console': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'error',
      'drover/folder-layers': ['error', { srcRoot: 'src', layers: folderLayers, upwardAllowedIn: '\\.test\\.tsx?$' }],
    },
  },
  {
    // Tests read better as one long scenario; node:test's describe/it return promises by design.
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'max-lines-per-function': 'off',
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' }] }],
    },
  },
  { files: ['eslint.config.js', 'eslint/**/*.js'], ...tseslint.configs.disableTypeChecked },
);
