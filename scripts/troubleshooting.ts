// Writes docs/troubleshooting.md from the doctor's catalogue (src/doctor/catalogue.ts).
//   node --import tsx scripts/troubleshooting.ts          rewrite the file
//   node --import tsx scripts/troubleshooting.ts --check  exit 1 when the file is out of date
import {readFileSync, writeFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {REGENERATE, TROUBLESHOOTING_FILE, renderTroubleshooting} from '../src/doctor/troubleshooting.js';

const file = fileURLToPath(new URL(`../${TROUBLESHOOTING_FILE}`, import.meta.url));
const wanted = renderTroubleshooting();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // missing: out of date
  }
  if (current !== wanted) {
    console.error(`${TROUBLESHOOTING_FILE} is out of date with src/doctor/catalogue.ts; run: ${REGENERATE}`);
    process.exit(1);
  }
  console.log(`${TROUBLESHOOTING_FILE} is up to date`);
} else {
  writeFileSync(file, wanted);
  console.log(`wrote ${TROUBLESHOOTING_FILE}`);
}
