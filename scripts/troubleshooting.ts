// Writes docs/troubleshooting.md and the README's troubleshooting section from the doctor's
// catalogue (src/doctor/catalogue.ts).
//   node --import tsx scripts/troubleshooting.ts          rewrite both
//   node --import tsx scripts/troubleshooting.ts --check  exit 1 when either is out of date
import {readFileSync, writeFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {README_FILE, REGENERATE, TROUBLESHOOTING_FILE, renderTroubleshooting, spliceReadme} from './render-troubleshooting.js';

const path = (name: string) => fileURLToPath(new URL(`../${name}`, import.meta.url));
const read = (name: string) => {
  try {
    return readFileSync(path(name), 'utf8');
  } catch {
    return '';
  }
};
const wanted = new Map([
  [TROUBLESHOOTING_FILE, renderTroubleshooting()],
  [README_FILE, spliceReadme(read(README_FILE))],
]);
if (process.argv.includes('--check')) {
  const stale = [...wanted].filter(([name, text]) => read(name) !== text).map(([name]) => name);
  if (stale.length > 0) {
    console.error(`${stale.join(' and ')} out of date with src/doctor/catalogue.ts; run: ${REGENERATE}`);
    process.exit(1);
  }
  console.log(`${TROUBLESHOOTING_FILE} is up to date`);
} else {
  for (const [name, text] of wanted) writeFileSync(path(name), text);
  console.log(`wrote ${[...wanted.keys()].join(' and ')}`);
}
