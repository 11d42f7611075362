// One linter for the whole repository: typescript-eslint's type-aware rules, plus the layer rules
// of docs/architecture.md's module table (LAYERS below; test/architecture/layers.test.ts proves
// that each of them fails the lint when broken).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Which folders of src/ each layer may import, and which packages it may not. A layer imports its
 * own folder freely. Keep this table and docs/architecture.md's module table in step.
 *
 * ESLint keeps only the last `no-restricted-imports` setting that matches a file, so every layer
 * gets exactly one rule with all of its bans merged in; no other block may set that rule for src/.
 */
const SOCKETS = ['node:net', 'node:tls', 'node:http', 'node:https', 'node:http2', 'node:dgram', 'node:dns', 'ws'];
const PROCESSES_AND_FILES = ['node:child_process', 'node:fs', 'node:fs/promises', 'node:os'];
const RENDERING = ['react', 'ink', 'react/jsx-runtime'];
const KUBERNETES = ['@kubernetes/client-node'];
const SETTINGS_STORE = ['conf'];
export const LAYERS = {
  // The pure codec: bytes in, values out. Its errors come from the leaf module core/errors.ts.
  protocol: {mayImport: ['core/errors'], bannedPackages: [...SOCKETS, ...PROCESSES_AND_FILES, ...RENDERING, ...KUBERNETES, ...SETTINGS_STORE, 'node:events']},
  core: {mayImport: [], bannedPackages: [...SOCKETS, ...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  router: {mayImport: ['core', 'protocol'], bannedPackages: [...SOCKETS, ...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  proxy: {mayImport: ['core', 'protocol', 'router', 'client', 'inspect'], bannedPackages: [...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  // Learning what providers export: pure codecs plus a prober that talks only through Backend streams.
  // node:http and node:http2 are allowed only to speak over such a stream (createConnection): QoS
  // `/ls`, and MetadataService over Triple or gRPC reflection on an application's Triple port.
  learning: {mayImport: ['core', 'protocol', 'router'], bannedPackages: [...SOCKETS.filter((name) => name !== 'node:http' && name !== 'node:http2'), ...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  kube: {mayImport: ['core', 'router'], bannedPackages: [...RENDERING, ...SETTINGS_STORE]},
  client: {mayImport: ['core', 'protocol'], bannedPackages: [...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  config: {mayImport: ['core'], bannedPackages: [...SOCKETS, ...RENDERING, ...KUBERNETES]},
  doctor: {mayImport: ['core', 'protocol', 'router', 'proxy', 'kube'], bannedPackages: [...RENDERING, ...SETTINGS_STORE]},
  sim: {mayImport: ['core', 'protocol'], bannedPackages: [...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  // The dashboard's model: live figures folded from the event bus, for any renderer.
  stats: {mayImport: ['core'], bannedPackages: [...SOCKETS, ...PROCESSES_AND_FILES, ...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  // The call inspector: captured bytes decoded into call records (hessian.js), the ring of recent
  // calls, redaction and the recording line format. Decoding only: no sockets, files or rendering.
  inspect: {mayImport: ['core', 'protocol', 'client'], bannedPackages: [...SOCKETS, ...PROCESSES_AND_FILES, ...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  ui: {mayImport: ['core', 'stats', 'inspect'], bannedPackages: [...SOCKETS, ...KUBERNETES, ...SETTINGS_STORE, 'node:child_process']},
  reporters: {mayImport: ['core', 'inspect'], bannedPackages: [...SOCKETS, ...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  // A running session: listener, route table (with what learning found), sources. Kubernetes
  // sources load lazily (a dynamic import of kube/session-source.ts), so from src/kube it may
  // import types only.
  session: {mayImport: ['core', 'router', 'proxy', 'learning'], typesFrom: ['kube'], bannedPackages: [...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  // The team gateway (in-cluster): a session fed by Kubernetes watches, plus who may use it
  // (TokenReview / SubjectAccessReview through src/kube), its admin port and drain. protocol.ts is
  // its pure wire codec, shared with the laptop end. Kubernetes sources load lazily, as in session.
  gateway: {mayImport: ['core', 'protocol', 'router', 'proxy', 'learning', 'session', 'stats'], typesFrom: ['kube'], bannedPackages: [...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  // The laptop end of a team gateway (`up --via`): a route source whose applications share one
  // stream to the gateway. Of src/gateway only the wire codec both ends share; Kubernetes (the
  // port-forward, the token) is handed in by the CLI.
  via: {mayImport: ['core', 'protocol', 'gateway/protocol'], bannedPackages: [...RENDERING, ...KUBERNETES, ...SETTINGS_STORE]},
  cli: {mayImport: ['core', 'protocol', 'router', 'proxy', 'kube', 'learning', 'client', 'config', 'doctor', 'sim', 'ui', 'stats', 'reporters', 'session', 'gateway', 'via', 'inspect'], bannedPackages: [...RENDERING, ...KUBERNETES]},
  types: {mayImport: [], bannedPackages: []},
};

/** One `no-restricted-imports` rule per layer, from LAYERS. */
function layerRules() {
  const folders = Object.keys(LAYERS);
  return Object.entries(LAYERS).map(([layer, {mayImport, bannedPackages, typesFrom = []}]) => {
    // Every folder of src/ is one level deep, so `../x/` (or `../../x/` from a subfolder) names
    // folder x of src/. Allowed single files (core/errors) are matched whole.
    const allowedFolders = mayImport.filter((entry) => !entry.includes('/'));
    const allowedFiles = mayImport.filter((entry) => entry.includes('/'));
    const forbidden = folders.filter((folder) => folder !== layer && !allowedFolders.includes(folder) && !typesFrom.includes(folder));
    const except = allowedFiles.map((file) => `(?!${file.replaceAll('/', '\\/')}\\.js$)`).join('');
    const patterns = forbidden.length === 0 ? [] : [{
      regex: `^(\\.\\./)+${except}(${forbidden.join('|')})(\\/|\\.js$)`,
      message: `src/${layer} may import only ${mayImport.length === 0 ? 'its own folder' : mayImport.map((entry) => `src/${entry}`).join(', ')} from src/ (docs/architecture.md, eslint.config.js LAYERS).`,
    }];
    if (typesFrom.length > 0) {
      patterns.push({
        regex: `^(\\.\\./)+(${typesFrom.join('|')})(\\/|\\.js$)`,
        allowTypeImports: true,
        message: `src/${layer} may import only types from ${typesFrom.map((entry) => `src/${entry}`).join(', ')}; load it lazily with await import() (docs/architecture.md, eslint.config.js LAYERS).`,
      });
    }
    return {
      files: [`src/${layer}/**`],
      rules: {
        'no-restricted-imports': ['error', {
          paths: bannedPackages.map((name) => ({name, message: `src/${layer} must not import ${name} (docs/architecture.md, eslint.config.js LAYERS).`})),
          patterns,
        }],
      },
    };
  });
}

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
  ...layerRules(),
);
