// One linter for the whole repository: typescript-eslint's type-aware rules, plus the layer
// rules that keep the core free of React and of client-node (see docs/architecture.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {ignores: ['dist/**', 'dist-bin/**', '.bench-out/**', 'node_modules/**', 'coverage/**']},
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname},
    },
    rules: {
      // A dropped promise in socket code is a silent hang.
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's describe/test return promises the runner itself awaits.
        allowForKnownSafeCalls: [{from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach']}],
      }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      // Keep disableTypeChecked's parser options: plain JS is not part of the TypeScript project.
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: Object.fromEntries(['process', 'Buffer', 'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'URL', 'performance', 'queueMicrotask', 'AbortController', 'structuredClone', 'global'].map((name) => [name, 'readonly'])),
    },
  },
  {
    // The core (codec, router, proxy) knows nothing of React, ink or Kubernetes.
    files: ['src/protocol/**', 'src/router/**', 'src/proxy/**', 'src/core/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['react', 'ink', '@kubernetes/client-node', 'conf'],
        patterns: ['../ui/*', '../kube/*', '../cli/*'],
      }],
    },
  },
  {
    // Only src/ui renders; only src/kube talks to the API server.
    files: ['src/**'],
    ignores: ['src/ui/**', 'src/cli/**'],
    rules: {
      'no-restricted-imports': ['error', {paths: ['react', 'ink']}],
    },
  },
);
