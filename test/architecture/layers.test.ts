// The layer rules of docs/architecture.md must fail the lint when broken: each probe below is a
// file inside one layer that imports something that layer must not, linted with the repository's
// own eslint.config.js (ESLint keeps only the last matching no-restricted-imports setting, so a
// later block could silently switch a layer's rule off; this test notices).
import assert from 'node:assert/strict';
import {readdirSync, readFileSync} from 'node:fs';
import {describe, test} from 'node:test';
import {ESLint} from 'eslint';
import tseslint from 'typescript-eslint';
import {LAYERS} from '../../eslint.config.js';

// The probes are not on disk, so they are linted without type information (the layer rules need none).
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: [{files: ['src/**/layer-probe.ts'], ...tseslint.configs.disableTypeChecked}],
});

async function layerErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, {filePath: file});
  assert.ok(result, 'ESLint returned no result');
  const fatal = result.messages.filter((message) => message.fatal === true);
  assert.deepEqual(fatal, [], `${file} did not parse`);
  return result.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

const layers: string[] = Object.keys(LAYERS);

/** Forbidden imports per layer: each must be an error. */
const FORBIDDEN: Record<string, string[]> = {
  protocol: ['node:net', 'node:tls', 'node:http2', 'node:fs', 'ws', 'react', '@kubernetes/client-node', '../core/events.js', '../stats/stats.js', '../proxy/upstream.js', '../router/resolve.js'],
  core: ['../protocol/header.js', '../ui/App.js', '../kube/cluster.js', '../proxy/upstream.js', 'react', 'ink', '@kubernetes/client-node', 'conf', 'node:net'],
  router: ['../proxy/upstream.js', '../kube/cluster.js', '../ui/App.js', 'node:net', 'react', '@kubernetes/client-node'],
  proxy: ['@kubernetes/client-node', 'react', 'ink', 'conf', '../kube/cluster.js', '../ui/App.js', '../cli/main.js', '../sim/demo.js', '../session/session.js', '../stats/stats.js', '../config/settings.js', '../doctor/checks.js', '../reporters/line-reporter.js'],
  learning: ['node:net', 'node:https', 'node:tls', 'ws', 'react', '@kubernetes/client-node', 'conf', '../kube/cluster.js', '../proxy/upstream.js', '../ui/App.js', '../cli/main.js'],
  kube: ['react', 'ink', 'conf', '../ui/App.js', '../proxy/upstream.js', '../protocol/header.js', '../cli/main.js', '../doctor/checks.js'],
  client: ['../proxy/static-backend.js', '../kube/cluster.js', '../ui/App.js', 'react', '@kubernetes/client-node'],
  config: ['../kube/cluster.js', '../proxy/tunnel-server.js', 'node:net', 'react', '@kubernetes/client-node'],
  doctor: ['../ui/App.js', '../cli/main.js', 'react', 'ink', 'conf'],
  sim: ['../kube/cluster.js', '../proxy/tunnel-server.js', '../ui/App.js', '@kubernetes/client-node', 'react'],
  ui: ['../protocol/header.js', '../proxy/tunnel-server.js', '../kube/cluster.js', '../router/route-table.js', '../cli/main.js', 'node:net', '@kubernetes/client-node', 'conf', 'ws'],
  stats: ['../protocol/header.js', '../proxy/upstream.js', '../ui/App.js', 'react', 'ink', 'node:net', 'node:fs'],
  reporters: ['../protocol/header.js', '../ui/App.js', '../proxy/upstream.js', 'react', 'ink', 'node:net'],
  cli: ['react', 'ink', '@kubernetes/client-node'],
  session: ['react', 'ink', '@kubernetes/client-node', 'conf', '../ui/App.js', '../cli/main.js', '../sim/demo.js', '../kube/cluster.js', '../config/settings.js'],
  gateway: ['react', 'ink', '@kubernetes/client-node', 'conf', '../ui/App.js', '../cli/main.js', '../kube/cluster.js', '../config/settings.js', '../doctor/checks.js'],
  via: ['react', 'ink', '@kubernetes/client-node', 'conf', '../kube/bearer-token.js', '../session/session.js', '../proxy/upstream.js', '../gateway/gateway.js', '../cli/main.js'],
  inspect: ['node:net', 'node:fs', 'react', 'ink', '@kubernetes/client-node', 'conf', '../proxy/upstream.js', '../ui/App.js', '../stats/stats.js', '../cli/main.js'],
  types: ['../core/errors.js'],
};

/** Allowed imports per layer: each must lint clean (so the rules are not simply "ban everything"). */
const ALLOWED: Record<string, string[]> = {
  protocol: ['../core/errors.js', './header.js', 'node:buffer'],
  proxy: ['node:net', '../protocol/header.js', '../router/resolve.js', '../core/events.js', '../client/arguments.js', '../inspect/java-values.js'],
  kube: ['@kubernetes/client-node', '../router/route-table.js', '../core/errors.js'],
  learning: ['../protocol/frame-decoder.js', '../router/route-table.js', '../core/backend.js', 'hessian.js', 'node:fs', 'node:http', 'node:http2'],
  ui: ['react', 'ink', '../stats/stats.js'],
  stats: ['../core/events.js', '../core/app-session.js'],
  cli: ['../ui/run-interactive.js', '../kube/cluster.js', '../sim/demo.js', 'conf', '../session/session.js'],
  session: ['../proxy/tunnel-server.js', '../router/route-table.js', '../core/backend-source.js', '../learning/export-learner.js'],
  config: ['conf', '../core/events.js'],
  doctor: ['../kube/cluster.js', '../proxy/tunnel-server.js', '../core/host-port.js'],
  gateway: ['../protocol/header.js', '../proxy/tunnel-server.js', '../session/session.js', 'node:http', 'prom-client'],
  via: ['../gateway/protocol.js', '../protocol/header.js', '../core/backend-source.js', 'node:net'],
};

describe('layer rules (eslint.config.js LAYERS, docs/architecture.md)', () => {
  test('every folder of src/ is a layer, and docs/architecture.md has a row for each', () => {
    const folders = readdirSync('src', {withFileTypes: true}).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
    assert.deepEqual(folders, [...layers].sort());
    assert.deepEqual(Object.keys(FORBIDDEN).sort(), [...layers].sort(), 'every layer has forbidden probes');
    const doc = readFileSync('docs/architecture.md', 'utf8');
    for (const layer of layers) assert.match(doc, new RegExp(`^\\| \`src/${layer}/\``, 'm'), `docs/architecture.md has no row for src/${layer}/`);
  });

  for (const layer of layers) {
    test(`src/${layer}: forbidden imports fail the lint`, async () => {
      for (const specifier of FORBIDDEN[layer] ?? []) {
        const errors = await layerErrors(`src/${layer}/layer-probe.ts`, `import '${specifier}';\n`);
        assert.equal(errors.length, 1, `src/${layer} importing '${specifier}' should fail the lint`);
      }
      // From a subfolder (src/ui/components, src/cli/commands) the same folders are one more level up.
      const relative = FORBIDDEN[layer]?.find((specifier) => specifier.startsWith('../'));
      if (relative !== undefined) {
        const errors = await layerErrors(`src/${layer}/nested/layer-probe.ts`, `export {x} from '../${relative}';\n`);
        assert.equal(errors.length, 1, `src/${layer}/nested re-exporting from '../${relative}' should fail the lint`);
      }
    });
    const allowed = ALLOWED[layer];
    if (allowed !== undefined) {
      test(`src/${layer}: allowed imports lint clean`, async () => {
        for (const specifier of allowed) {
          assert.deepEqual(await layerErrors(`src/${layer}/layer-probe.ts`, `import '${specifier}';\n`), [], `src/${layer} may import '${specifier}'`);
        }
      });
    }
  }

  test('src/session: Kubernetes only as types (sources load lazily), a value import fails', async () => {
    assert.deepEqual(await layerErrors('src/session/layer-probe.ts', "import type {KubeSourceOptions} from '../kube/session-source.js';\n"), []);
    assert.equal((await layerErrors('src/session/layer-probe.ts', "import {openKubeSource} from '../kube/session-source.js';\n")).length, 1);
  });

  test('core/errors.ts is a leaf (protocol may import it without a folder cycle)', () => {
    const source = readFileSync('src/core/errors.ts', 'utf8');
    assert.doesNotMatch(source, /^\s*(import|export)\s[^;]*\sfrom\s/m);
  });
});
