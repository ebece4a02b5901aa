// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

// Node's network modules: src/core must not open sockets or resolve names.
const nodeNetwork = ['net', 'http', 'https', 'http2', 'tls', 'dns', 'dgram'].flatMap((m) => [m, `node:${m}`]);

const restrict = (names, message) => ({
  '@typescript-eslint/no-restricted-imports': ['error', { paths: names.map((name) => ({ name, message })), patterns: names.map((name) => ({ group: [`${name}/*`], message })) }],
});

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.cache/**', '.vscode-test/**', 'test-results/**', '.stryker-tmp/**', 'reports/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }] },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: restrict(
      ['vscode', 'undici', ...nodeNetwork],
      'src/core is pure: no vscode, no undici, no network modules (see design.md, Architecture).',
    ),
  },
  {
    files: ['src/net/**/*.ts'],
    rules: restrict(['vscode'], 'src/net must not import vscode; only src/host talks to VS Code.'),
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
);
