// The repository as the tests see it, with the TypeScript of src/, test/ and scripts/ compiled to
// JavaScript once per run, so that node runs the test files without a loader.
//
// Why: tsx compiles with esbuild too, but it hooks every module a test file loads, its packages
// included, and a hook costs a round trip to the loader's thread. Loading @kubernetes/client-node
// through it took about three times the CPU of a plain load, and every test file pays that at its
// start: compiled beforehand, test/kube/ needed 40% less CPU.
//
// The mirror is a temporary directory with the repository's layout: the compiled files where their
// sources are, every other file and folder as a symlink to the original. import.meta.url, dirname
// and filename are replaced by the source file's own, so a test finds its fixtures, the repository
// root and the binary where they are; inline source maps point stack traces at the .ts lines.
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, relative} from 'node:path';
import {pathToFileURL} from 'node:url';
import {transformSync} from 'esbuild';

/** Folders whose TypeScript the tests import; everything else is linked as it is. */
const COMPILED = new Set(['src', 'test', 'scripts']);
const SKIPPED = new Set(['.git']);

/** Builds the mirror of `root`; returns its directory. */
export function buildTestMirror(root) {
  const mirror = mkdtempSync(join(tmpdir(), 'dubbo-tunnel-tests-'));
  const tsconfigRaw = readFileSync(join(root, 'tsconfig.json'), 'utf8');
  for (const entry of readdirSync(root, {withFileTypes: true})) {
    if (SKIPPED.has(entry.name)) continue;
    if (entry.isDirectory() && COMPILED.has(entry.name)) mirrorFolder(join(root, entry.name), join(mirror, entry.name), tsconfigRaw);
    else symlinkSync(join(root, entry.name), join(mirror, entry.name));
  }
  return mirror;
}

function mirrorFolder(source, target, tsconfigRaw) {
  mkdirSync(target, {recursive: true});
  for (const entry of readdirSync(source, {withFileTypes: true})) {
    const from = join(source, entry.name);
    if (entry.isDirectory()) mirrorFolder(from, join(target, entry.name), tsconfigRaw);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) writeFileSync(join(target, entry.name.replace(/\.tsx?$/, '.js')), compile(from, tsconfigRaw));
    else symlinkSync(from, join(target, entry.name));
  }
}

function compile(file, tsconfigRaw) {
  const {code} = transformSync(readFileSync(file, 'utf8'), {
    loader: file.endsWith('.tsx') ? 'tsx' : 'ts',
    format: 'esm',
    target: `node${process.versions.node}`,
    tsconfigRaw,
    sourcefile: file,
    sourcemap: 'inline',
    define: {
      'import.meta.url': JSON.stringify(pathToFileURL(file).href),
      'import.meta.dirname': JSON.stringify(dirname(file)),
      'import.meta.filename': JSON.stringify(file),
    },
  });
  return code;
}

/** The path of `file` in the mirror (a .ts or .tsx file of a compiled folder). */
export function inMirror(mirror, root, file) {
  return join(mirror, relative(root, file)).replace(/\.tsx?$/, '.js');
}

export function removeTestMirror(mirror) {
  rmSync(mirror, {recursive: true, force: true});
}
