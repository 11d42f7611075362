#!/usr/bin/env node
// Runs every test file under test/ with node's own test runner (TypeScript through tsx).
// Node 20's --test does not expand globs or pick up .ts files by itself, so list them here.
import {readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';

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
// A test that hangs fails after 3 minutes instead of holding CI for its whole time budget.
// No --test-force-exit: it ends a file's process before all of its tests have run, silently (Node
// 24.21 ran 48, 80 and 84 of the 84 tests of test/learning/codecs.test.ts in three runs; Node 20
// once dropped its last 2), so a green run would not mean every test ran. Tests assert themselves
// that nothing is left listening.
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-reporter=${fileURLToPath(new URL('test-reporter.mjs', import.meta.url))}`, '--test-reporter-destination=stdout', '--test-timeout=180000', ...files], {
  stdio: 'inherit',
  // ink reads CI once, at import, and then neither follows terminal resizes nor renders every
  // frame; the component tests check our layout, so they run as in a terminal. Tests that need the
  // CI behaviour (plain output) set CI on the child processes they start.
  env: {...process.env, FORCE_COLOR: '0', CI: 'false'},
});
process.exit(result.status ?? 1);
