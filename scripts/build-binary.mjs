#!/usr/bin/env node
// `npm run build:binary`: a single executable of the CLI for the machine it runs on (a Node single
// executable application: this Node binary with the bundled CLI injected), dist-bin/dubbo-tunnel
// (dubbo-tunnel.exe on Windows). Nothing else is needed to run it, not even Node.
//
//   1. esbuild bundles the CLI into one CommonJS script, dist-bin/sea/cli.cjs (a single executable
//      runs one CommonJS script): the same sources and settings as dist/ (scripts/build.mjs), but
//      one file (no chunks; the commands still load lazily inside it) and no source map.
//   2. Node writes the preparation blob: that script and V8's code cache for it.
//   3. The blob is injected into a copy of this Node binary with postject.
//
// macOS and Windows builds are made on those systems the same way; their signing steps are in
// docs/development.md ("A single executable").
import {build} from 'esbuild';
import {execFileSync} from 'node:child_process';
import {copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {OPTIONAL_EXTERNALS, commonOptions} from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist-bin');
const work = join(outDir, 'sea');
const executable = join(outDir, process.platform === 'win32' ? 'dubbo-tunnel.exe' : 'dubbo-tunnel');
// The fuse Node's binary carries for single executables (Node's docs, "Single executable applications").
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 13)) {
  console.error(`npm run build:binary needs Node 20.13 or newer (single executable code cache); this is ${process.version}.`);
  process.exit(1);
}

/**
 * ink's reconciler has two top-level awaits, both only taken with DEV=true (React devtools): it
 * imports react-devtools-core, and reads its own package.json for the devtools. The executable can
 * load no package from disk, so there the import fails as a missing package does (ink catches that
 * and says devtools need react-devtools-core), and the package.json is not read.
 */
const inkDevtoolsWithoutTopLevelAwait = {
  name: 'ink-devtools-without-top-level-await',
  setup(pluginBuild) {
    pluginBuild.onLoad({filter: /[\\/]ink[\\/]build[\\/]reconciler\.js$/}, (args) => {
      let contents = readFileSync(args.path, 'utf8');
      const replacements = [
        ["await import('./devtools.js');", "throw Object.assign(new Error('react-devtools-core is not part of the dubbo-tunnel executable'), {code: 'ERR_MODULE_NOT_FOUND'});"],
        ['? await loadPackageJson()', '? {name: undefined, version: undefined}'],
      ];
      for (const [from, to] of replacements) {
        if (!contents.includes(from)) throw new Error(`ink changed (${args.path} no longer has '${from}'): revisit scripts/build-binary.mjs`);
        contents = contents.replace(from, to);
      }
      return {contents, loader: 'js', resolveDir: dirname(args.path)};
    });
  },
};

/**
 * The packages the bundle only probes for (OPTIONAL_EXTERNALS: ws's native speed-ups, node-fetch's
 * `encoding`, mz's `graceful-fs`) are left to require() in the npm package. The executable's
 * require() loads Node's built-in modules only, and Node prints a warning ("Currently the require()
 * provided to the main script embedded into single-executable applications only supports loading
 * built-in modules") the first time it is asked for anything else, above `ls`, `doctor` and the
 * picker. Here each of them is a module that fails the way a missing package does, which every
 * caller already expects (they are optional), so require() is never asked.
 */
const optionalPackagesAbsent = {
  name: 'optional-packages-absent',
  setup(pluginBuild) {
    const names = Object.keys(OPTIONAL_EXTERNALS);
    const filter = new RegExp(`^(${names.map((name) => name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|')})$`);
    pluginBuild.onResolve({filter}, (args) => ({path: args.path, namespace: 'optional-package-absent'}));
    pluginBuild.onLoad({filter: /.*/, namespace: 'optional-package-absent'}, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}' (not part of the dubbo-tunnel executable)`)}), {code: 'MODULE_NOT_FOUND'});`,
      loader: 'js',
    }));
  },
};

/**
 * A single executable runs one CommonJS script, and CommonJS has no top-level await. Besides
 * ink's (above) there is yoga-layout's (ink's layout engine): `wrapAssembly(await loadYoga())`, which waits
 * for WebAssembly.instantiate. Node can also compile and instantiate WebAssembly synchronously, and
 * the Emscripten loader takes an `instantiateWasm` hook for that: with it, loading finishes before
 * loadYoga() returns, so the same module can be built without the await. The wasm bytes are the
 * ones yoga-layout ships (the base64 data URL inside its loader), read at build time.
 */
const yogaWithoutTopLevelAwait = {
  name: 'yoga-without-top-level-await',
  setup(pluginBuild) {
    pluginBuild.onLoad({filter: /[\\/]yoga-layout[\\/]dist[\\/]src[\\/]index\.js$/}, (args) => {
      const original = readFileSync(args.path, 'utf8');
      if (!original.includes('wrapAssembly(await loadYoga())')) {
        throw new Error(`yoga-layout changed (${args.path} no longer has 'wrapAssembly(await loadYoga())'): revisit scripts/build-binary.mjs`);
      }
      const loader = readFileSync(join(dirname(args.path), '../binaries/yoga-wasm-base64-esm.js'), 'utf8');
      const wasm = /"data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)"/.exec(loader)?.[1];
      if (!wasm) throw new Error('yoga-layout changed (no base64 wasm in its loader): revisit scripts/build-binary.mjs');
      return {
        loader: 'js',
        resolveDir: dirname(args.path),
        contents: [
          "import loadYoga from '../binaries/yoga-wasm-base64-esm.js';",
          "import wrapAssembly from './wrapAssembly.js';",
          `const wasm = Buffer.from(${JSON.stringify(wasm)}, 'base64');`,
          'const yogaModule = {instantiateWasm(imports, receiveInstance) {',
          '  receiveInstance(new WebAssembly.Instance(new WebAssembly.Module(wasm), imports));',
          '  return {};',
          '}};',
          'loadYoga(yogaModule);',
          'const Yoga = wrapAssembly(yogaModule);',
          'export default Yoga;',
          "export * from './generated/YGEnums.js';",
        ].join('\n'),
      };
    });
  },
};

rmSync(outDir, {recursive: true, force: true});
mkdirSync(work, {recursive: true});
const common = commonOptions();
await build({
  ...common,
  absWorkingDir: root,
  stdin: {
    // What bin/dubbo-tunnel.js does; the executable's own Node needs no version check.
    contents: "import {main} from './src/cli/main.js';\nmain(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n",
    resolveDir: root,
    sourcefile: 'dubbo-tunnel-executable.ts',
    loader: 'ts',
  },
  outfile: join(work, 'cli.cjs'),
  format: 'cjs',
  splitting: false,
  sourcemap: false,
  metafile: false,
  // CommonJS has require() of its own; in the executable it loads Node's built-in modules only (the
  // optional packages are then simply absent, as they are allowed to be).
  banner: {},
  // main.ts falls back to import.meta.url only when the version is not defined, which it is here.
  logOverride: {'empty-import-meta': 'silent'},
  // First, so that their onLoad wins over the common plugins' for the same files.
  plugins: [inkDevtoolsWithoutTopLevelAwait, yogaWithoutTopLevelAwait, optionalPackagesAbsent, ...common.plugins],
});

writeFileSync(join(work, 'sea-config.json'), JSON.stringify({
  main: join(work, 'cli.cjs'),
  output: join(work, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  // V8's compiled code for the script goes into the executable too: it starts without compiling.
  useCodeCache: true,
}, null, 2));
execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], {stdio: 'inherit'});

copyFileSync(process.execPath, executable);
if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', executable], {stdio: 'inherit'});
const {inject} = createRequire(import.meta.url)('postject');
await inject(executable, 'NODE_SEA_BLOB', readFileSync(join(work, 'sea-prep.blob')), {
  sentinelFuse: SENTINEL_FUSE,
  ...(process.platform === 'darwin' ? {machoSegmentName: 'NODE_SEA'} : {}),
});
// macOS will not run an unsigned binary on Apple silicon: sign it ad hoc (a release signs it with a
// Developer ID instead, see docs/development.md). Windows runs it unsigned (with a SmartScreen warning).
if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', executable], {stdio: 'inherit'});
console.log(`built ${executable} (Node ${process.version}, ${process.platform}-${process.arch})`);
