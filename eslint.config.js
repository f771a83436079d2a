import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist',
      'dist-*',
      'node_modules',
      'public',
      'models',
      'test-results',
      'test-results-*',
      'test-reports',
      'dummy-non-existing-folder',
      '.device',
      // Local, git-ignored tool folders (GPU machine payloads, wheels, debug scripts).
      '.gpubench',
      '.gl',
      '.whl',
      '.debug-*',
      'playwright-report',
      'out',
      'scripts/export',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/ui/**/*.tsx', 'src/store/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    // Folder boundaries: reach another folder only through its entry point (index.ts).
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(bench|video|model|worker|store|ui)/(?!index$).+',
              message: 'Import another src folder only through its index.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests read fixtures whose shape they assert anyway.
    files: ['**/*.test.ts', 'e2e/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['src/bench/**/*.ts'],
    ignores: ['src/bench/**/*.test.ts'],
    languageOptions: { globals: {} },
  },
);
