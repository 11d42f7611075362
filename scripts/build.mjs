#!/usr/bin/env node
// Builds what the package ships: one esbuild bundle of the CLI in dist/ (`npm run build`).
//
//   dist/cli.js            the entry (src/cli/main.ts); bin/dubbo-tunnel.js imports it
//   dist/chunks/*.js       everything the commands load with import(): ink/React (the UI), the
//                          Kubernetes side (client-node), the demo's simulated cluster... Shared code
//                          lands in shared chunks, so `--help` and `up --backend` never parse the UI
//                          or client-node.
//   dist/**/*.js.map       source maps with the sources inside them (sourcesContent), so a stack
//                          trace resolves with nothing else from the repository installed.
//
// Every runtime dependency is bundled (and tree-shaken: client-node's generated API classes that
// KubeConfig never touches are left out), so the published package has no dependencies to install.
// The entry is the CLI's main module; every other module is found by following imports, so new
// files under src/ need no list here.
//
// `node scripts/build.mjs --analyze` also prints the biggest inputs of each output file.
import {build} from 'esbuild';
import {builtinModules} from 'node:module';
import {existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * Packages that bundled code loads only if they happen to be installed, each inside a try/catch or
 * behind a switch, never needed: they stay plain imports (the bundle must not pick up a native
 * addon that happens to be on the build machine) and are not dependencies.
 */
export const OPTIONAL_EXTERNALS = {
  'react-devtools-core': 'ink, only with DEV=true; ink explains how to install it when missing',
  bufferutil: 'ws, an optional native speed-up',
  'utf-8-validate': 'ws, an optional native speed-up',
  encoding: 'node-fetch (inside client-node), optional charset conversion',
  'graceful-fs': 'mz (inside hessian.js), falls back to node:fs',
};

/**
 * client-node's compiled classes assign static fields after the class body (`Watch.SERVER_SIDE_CLOSE
 * = ...`, every generated model's `attributeTypeMap`), which esbuild must treat as side effects, so a
 * plain import of KubeConfig would keep its whole index: watch, log, cp (tar-fs), metrics and all 700
 * generated models (600 kB). None of its modules does anything at import time that another module
 * relies on (no side-effect-only imports), so mark them side-effect free: what KubeConfig does not
 * reach is dropped.
 */
const clientNodeWithoutSideEffects = {
  name: 'client-node-without-side-effects',
  setup(pluginBuild) {
    pluginBuild.onResolve({filter: /.*/}, async (args) => {
      if (args.pluginData === 'client-node') return undefined;
      const inside = args.importer.includes('/node_modules/@kubernetes/client-node/');
      if (!inside && !args.path.startsWith('@kubernetes/client-node')) return undefined;
      const resolved = await pluginBuild.resolve(args.path, {kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'client-node'});
      if (resolved.errors.length > 0 || !resolved.path.includes('/node_modules/@kubernetes/client-node/')) return resolved;
      return {...resolved, sideEffects: false};
    });
  },
};

/**
 * node-fetch 2 (inside client-node) picks `require('url').URL || require('whatwg-url').URL`: on Node
 * the built-in always wins, yet requiring whatwg-url parses tr46's 290 kB Unicode mapping table at
 * every start (~25 ms of CPU, a third of loading client-node). Give node-fetch the built-in URL
 * under that name instead; what it runs is unchanged.
 */
const nodeFetchWithBuiltinUrl = {
  name: 'node-fetch-with-builtin-url',
  setup(pluginBuild) {
    pluginBuild.onResolve({filter: /^whatwg-url$/}, (args) =>
      args.importer.includes('/node_modules/node-fetch/') ? {path: 'whatwg-url', namespace: 'builtin-url'} : undefined);
    pluginBuild.onLoad({filter: /.*/, namespace: 'builtin-url'}, () => ({contents: "module.exports = {URL: require('node:url').URL};", loader: 'js'}));
  },
};

/**
 * Many packages ship source maps that point at TypeScript sources they do not ship (client-node,
 * openid-client, socks...). esbuild would follow them, and dist/'s maps would name files nobody has.
 * Reading those packages without their maps makes dist/'s maps point at the JavaScript that was
 * bundled, which they then carry (sourcesContent), so every map resolves inside the package.
 */
const withoutDependencySourceMaps = {
  name: 'without-dependency-source-maps',
  setup(pluginBuild) {
    pluginBuild.onLoad({filter: /[\\/]node_modules[\\/].*\.[cm]?js$/}, async (args) => {
      const contents = await readFile(args.path, 'utf8');
      if (!contents.includes('//# sourceMappingURL=')) return undefined;
      return {contents: contents.replace(/^\/\/# sourceMappingURL=.*$/gm, ''), loader: 'js'};
    });
  },
};

/**
 * Options shared by the package bundle and the single executable (scripts/build-binary.mjs), so
 * both contain the same code.
 */
export function commonOptions() {
  return {
    bundle: true,
    platform: 'node',
    // The oldest Node the package supports (package.json engines); esbuild keeps newer syntax out.
    target: `node${packageJson.engines.node.replace(/^>=\s*/, '')}`,
    define: {
      // The CLI reads its version from here instead of from package.json next to the sources.
      DUBBO_TUNNEL_VERSION: JSON.stringify(packageJson.version),
      // React and react-reconciler pick their production build (1 MB less to parse, no development
      // checks), as a published CLI should. Nothing of ours reads NODE_ENV.
      'process.env.NODE_ENV': '"production"',
    },
    plugins: [clientNodeWithoutSideEffects, nodeFetchWithBuiltinUrl, withoutDependencySourceMaps],
    // Bundled CommonJS packages (hessian.js, ws, js-yaml...) call require() for Node's built-in
    // modules; an ES module has no require, so give the bundle one.
    banner: {js: "import {createRequire as __dubboTunnelCreateRequire} from 'node:module';\nconst require = __dubboTunnelCreateRequire(import.meta.url);"},
    // React: the production build (no development checks, smaller, faster).
    // process.env.NODE_ENV is still read at run time by nothing else we bundle.
    external: Object.keys(OPTIONAL_EXTERNALS),
    logLevel: 'warning',
    // The licences of everything bundled go to dist/THIRD-PARTY-LICENSES.txt, whole (see below).
    legalComments: 'none',
    sourcemap: 'linked',
    sourcesContent: true,
    metafile: true,
  };
}

/**
 * The package's `dependencies` are what npm installs next to it. A package the bundle inlines must
 * not be there too (it would be installed for nothing), and a bare import the bundle leaves
 * external must be a dependency (or one of the OPTIONAL_EXTERNALS above).
 */
function checkDependenciesHonest(metafile) {
  const declared = Object.keys(packageJson.dependencies ?? {});
  const bundled = new Set();
  const external = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const input of Object.keys(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (match) bundled.add(match[1]);
    }
    for (const imported of output.imports) {
      const name = imported.path.replace(/^node:/, '');
      if (imported.external && !builtinModules.includes(name) && !(name in OPTIONAL_EXTERNALS)) external.add(imported.path);
    }
  }
  const problems = [
    ...declared.filter((name) => bundled.has(name)).map((name) => `${name} is bundled into dist/, so it belongs in devDependencies, not dependencies`),
    ...[...external].filter((name) => !declared.includes(name)).map((name) => `the bundle imports ${name} at run time, so it must be in dependencies (or be bundled)`),
  ];
  if (problems.length > 0) throw new Error(`package.json dependencies do not match the bundle:\n  ${problems.join('\n  ')}`);
}

/**
 * The name, version, licence and licence text of every package whose code ended up in the output
 * (found from esbuild's metafile, so it follows whatever the bundle really contains).
 */
export function thirdPartyLicenses(metafile) {
  const packageDirs = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, {bytesInOutput}] of Object.entries(output.inputs)) {
      const match = bytesInOutput > 0 ? /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input) : null;
      if (match) packageDirs.add(match[1]);
    }
  }
  const sections = [...packageDirs].map((dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    const licenseFile = readdirSync(join(root, dir)).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    const text = licenseFile ? readFileSync(join(root, dir, licenseFile), 'utf8').trim() : `(no licence file in the package; package.json says ${pkg.license ?? 'nothing'})`;
    return {id: `${pkg.name}@${pkg.version}`, body: `${pkg.name}@${pkg.version} (${pkg.license ?? 'no licence field'})\n${pkg.homepage ?? ''}\n\n${text}\n`};
  }).sort((a, b) => a.id.localeCompare(b.id));
  const unique = sections.filter((section, i) => i === 0 || sections[i - 1].id !== section.id);
  return [
    `dubbo-tunnel ${packageJson.version} bundles the following packages (dist/ and the single executable).`,
    '',
    ...unique.map((section) => `${'-'.repeat(78)}\n${section.body}`),
  ].join('\n');
}

/** What the bundle is built from; a change to any of them makes dist/ stale. */
const BUILD_INPUTS = ['src', 'scripts/build.mjs', 'package.json'];

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** True when dist/ holds a bundle built after the last change to src/ or the build. */
export function bundleIsFresh(outdir = join(root, 'dist')) {
  if (!existsSync(join(outdir, 'cli.js'))) return false;
  return newestMtime(outdir) >= Math.max(...BUILD_INPUTS.map((path) => newestMtime(join(root, path))));
}

export async function buildPackage({analyze = false, outdir = join(root, 'dist')} = {}) {
  rmSync(outdir, {recursive: true, force: true});
  const result = await build({
    ...commonOptions(),
    absWorkingDir: root,
    entryPoints: {cli: 'src/cli/main.ts'},
    outdir,
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
  });
  checkDependenciesHonest(result.metafile);
  writeFileSync(join(outdir, 'THIRD-PARTY-LICENSES.txt'), thirdPartyLicenses(result.metafile));
  if (analyze) {
    const {analyzeMetafile} = await import('esbuild');
    console.log(await analyzeMetafile(result.metafile, {verbose: false}));
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildPackage({analyze: process.argv.includes('--analyze')});
}
