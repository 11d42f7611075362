// docs/troubleshooting.md is generated from the doctor's catalogue; this fails when someone changed
// the catalogue (or the file) without regenerating it.
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {test} from 'node:test';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {CATALOGUE} from '../../src/doctor/catalogue.js';
import {README_FILE, REGENERATE, TROUBLESHOOTING_FILE, renderTroubleshooting, spliceReadme} from '../../scripts/render-troubleshooting.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test(`${TROUBLESHOOTING_FILE} is up to date with src/doctor/catalogue.ts`, () => {
  const current = readFileSync(new URL(`../../${TROUBLESHOOTING_FILE}`, import.meta.url), 'utf8');
  assert.ok(current === renderTroubleshooting(), `${TROUBLESHOOTING_FILE} is out of date: run ${REGENERATE}`);
});

test(`the troubleshooting section of ${README_FILE} is up to date with src/doctor/catalogue.ts`, () => {
  const current = readFileSync(new URL(`../../${README_FILE}`, import.meta.url), 'utf8');
  assert.ok(current === spliceReadme(current), `${README_FILE} is out of date: run ${REGENERATE}`);
  const rows = current.split('\n').filter((line) => line.startsWith('| [')).length;
  assert.equal(rows, CATALOGUE.reduce((sum, check) => sum + check.problems.length, 0), 'one README row per problem the doctor knows');
});

test('every check and every problem of the catalogue is in the document', () => {
  const text = renderTroubleshooting();
  for (const check of CATALOGUE) {
    assert.ok(text.includes(`\n## ${check.title}\n`), check.id);
    for (const problem of check.problems) assert.ok(text.includes(problem.fix.replace(/\|/g, '\\|').split('`')[0] ?? ''), `${check.id}/${problem.id}`);
  }
  const ids = CATALOGUE.map((check) => check.id);
  assert.equal(new Set(ids).size, ids.length, 'check ids are unique');
});

test('the script checks and (re)writes the file', async () => {
  const {stdout} = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/troubleshooting.ts', '--check'], {cwd: ROOT});
  assert.equal(stdout.trim(), `${TROUBLESHOOTING_FILE} is up to date`);
});
