#!/usr/bin/env node
// Runs every test file under test/ (or the files and folders given) with node's own test runner,
// on the TypeScript compiled once into a mirror of the repository (scripts/test-mirror.mjs).
// Node 20's --test does not expand globs or pick up .ts files by itself, so list them here.
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {availableParallelism} from 'node:os';
import {join, resolve} from 'node:path';
import {spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import {buildPackage, bundleIsFresh} from './build.mjs';
import {buildTestMirror, inMirror, removeTestMirror} from './test-mirror.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['test'];
const files = [];
const walk = (path) => {
  if (statSync(path).isFile()) {
    if (/\.test\.tsx?$/.test(path)) files.push(path);
    return;
  }
  for (const name of readdirSync(path).sort()) walk(join(path, name));
};
for (const root of roots) walk(root);
if (files.length === 0) {
  console.error(`no test files found under ${roots.join(', ')}`);
  process.exit(1);
}

// Read before CI is set to 'false' for the test processes below. CI always has the shared
// fixtures next to the repository, so there a test that needs them fails instead of skipping
// (test/support/discovery-fixtures.ts reads TEST_FIXTURES_REQUIRED).
const inCi = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

// Files that run the binary (they call ensureBuilt()) share one bundle in dist/, built here once
// before any of them starts: a build inside a test file would replace dist/ under the files
// running next to it.
const runsTheBinary = files.some((file) => readFileSync(file, 'utf8').includes('ensureBuilt('));
if (runsTheBinary && !bundleIsFresh()) {
  const started = performance.now();
  await buildPackage();
  console.log(`built dist/ for the tests that run the binary (${Math.round(performance.now() - started)} ms)`);
}

// One test file per core at a time. node's default is cores - 1, which on 2 cores runs one file at
// a time although most of a file's time is spent waiting (on sockets, child processes, terminals,
// timers). Two per core was too many on a busy 2-core machine: tests with time bounds (a credentials
// plugin given 1.5 s, 30 s per router fuzz seed) ran out of time. TEST_CONCURRENCY=1 runs the files
// one by one.
const concurrency = Number(process.env.TEST_CONCURRENCY) || availableParallelism();

// A test that hangs fails after 3 minutes instead of holding CI for its whole time budget.
// No --test-force-exit: it ends a file's process before all of its tests have run, silently (Node
// 24.21 ran 48, 80 and 84 of the 84 tests of test/learning/codecs.test.ts in three runs; Node 20
// once dropped its last 2), so a green run would not mean every test ran. Tests assert themselves
// that nothing is left listening.
const mirror = buildTestMirror(root);
// Ctrl-C reaches the test runner too; this process waits for it to end, then removes the mirror.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => undefined);
const reporter = fileURLToPath(new URL('test-reporter.mjs', import.meta.url));
const result = spawnSync(process.execPath, [
  '--enable-source-maps', '--test', `--test-reporter=${reporter}`, '--test-reporter-destination=stdout',
  '--test-timeout=180000', `--test-concurrency=${concurrency}`, ...files.map((file) => inMirror(mirror, root, resolve(file))),
], {
  stdio: 'inherit',
  env: {
    ...process.env,
    // ink reads CI once, at import, and then neither follows terminal resizes nor renders every
    // frame; the component tests check our layout, so they run as in a terminal. Tests that need the
    // CI behaviour (plain output) set CI on the child processes they start.
    CI: 'false',
    FORCE_COLOR: '0',
    TEST_FIXTURES_REQUIRED: inCi ? '1' : '0',
    TEST_BUNDLE_BUILT: runsTheBinary ? '1' : '0',
    // The reporter names each file by its source, not by its compiled copy.
    TEST_MIRROR: mirror,
    TEST_MIRROR_OF: root,
  },
});
removeTestMirror(mirror);
process.exit(result.status ?? 1);
