import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const FOLDER_ENTRY = {
  regex: '^\\.\\./(bench|video|model|worker|store|ui)/(?!index$).+',
  message: 'Import another src folder only through its index.ts.',
};
const STORE_DB = {
  regex: '(^|/)store/db$',
  message: "IndexedDB is the store's: use the runs slice (store/index.ts).",
};
const ZUSTAND = {
  name: 'zustand',
  message: 'App state lives in src/store: use useAppStore from store/index.ts.',
};

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
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Numbers and booleans print as expected in messages; objects and nullish values do not.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      // `onClick={() => setX(v)}` and `.then(() => done())` are the idiom, not a confusion.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
    },
  },
  {
    files: ['src/ui/**/*.tsx', 'src/store/**/*.ts'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  {
    // Folder boundaries: reach another folder only through its entry point (index.ts); app state
    // and IndexedDB only through the store.
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    ignores: ['src/store/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [ZUSTAND], patterns: [FOLDER_ENTRY, STORE_DB] }],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [FOLDER_ENTRY] }] },
  },
  {
    files: ['e2e/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [ZUSTAND], patterns: [STORE_DB] }] },
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
  // Plain JS (configs, CI and GPU-machine scripts) is linted without type information.
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
