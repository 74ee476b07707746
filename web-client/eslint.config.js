import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', 'test-results/', 'sdk/dist/', 'sdk/example/node_modules/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Names are untrusted: use textContent.' },
        { property: 'outerHTML', message: 'Names are untrusted: use textContent.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "AssignmentExpression[left.property.name='innerHTML']",
          message: 'Names are untrusted: use textContent.',
        },
        {
          selector: "CallExpression[callee.property.name='insertAdjacentHTML']",
          message: 'Names are untrusted: use textContent.',
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', 'vite.config.ts'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // The e2e test passes functions to the page (page.evaluate / waitForFunction).
    files: ['e2e/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
);
