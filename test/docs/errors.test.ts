// docs/errors.md is generated from the code table in src/core/errors.ts; this fails when it is out
// of date, and when a code is declared that no module uses (a code nobody can see is noise).
import assert from 'node:assert/strict';
import {readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {test} from 'node:test';
import {ERROR_CODES} from '../../src/core/errors.js';
import {ERRORS_FILE, REGENERATE_ERRORS, renderErrors} from '../../scripts/render-errors.js';

function sources(folder: string): string[] {
  return readdirSync(folder, {withFileTypes: true}).flatMap((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? sources(path) : /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

test(`${ERRORS_FILE} is up to date with src/core/errors.ts`, () => {
  assert.equal(readFileSync(ERRORS_FILE, 'utf8'), renderErrors(), `run: ${REGENERATE_ERRORS}`);
});

test('every declared error code is used by some module of src/', () => {
  const text = sources('src').filter((file) => file !== join('src', 'core', 'errors.ts')).map((file) => readFileSync(file, 'utf8')).join('\n');
  const unused = Object.keys(ERROR_CODES).filter((code) => !new RegExp(`\\b${code}\\b`).test(text));
  assert.deepEqual(unused, [], 'use these codes where their failure happens, or remove them');
});
