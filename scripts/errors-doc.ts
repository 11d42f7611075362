// Writes docs/errors.md from the code table in src/core/errors.ts.
//   node --import tsx scripts/errors-doc.ts          rewrite it
//   node --import tsx scripts/errors-doc.ts --check  exit 1 when it is out of date
import {readFileSync, writeFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {ERRORS_FILE, REGENERATE_ERRORS, renderErrors} from './render-errors.js';

const path = fileURLToPath(new URL(`../${ERRORS_FILE}`, import.meta.url));
const wanted = renderErrors();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // missing counts as out of date
  }
  if (current !== wanted) {
    console.error(`${ERRORS_FILE} is out of date with src/core/errors.ts; run: ${REGENERATE_ERRORS}`);
    process.exit(1);
  }
  console.log(`${ERRORS_FILE} is up to date`);
} else {
  writeFileSync(path, wanted);
  console.log(`wrote ${ERRORS_FILE}`);
}
