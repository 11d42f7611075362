// Byte-exact captures of real Dubbo 2.7.23 / 3.2.16 providers (see its README.md). They live next to the
// repository, at ../shared/fixtures/dubbo-discovery; tests skip with this message when it is not there.
import {existsSync, readFileSync, readdirSync} from 'node:fs';
import path from 'node:path';

export const DISCOVERY_FIXTURES = process.env['DUBBO_DISCOVERY_FIXTURES'] ?? path.resolve(import.meta.dirname, '../../../shared/fixtures/dubbo-discovery');

/** Why the tests that read the captures are skipped, or false when the captures are there. */
export const fixturesMissing: string | false = existsSync(path.join(DISCOVERY_FIXTURES, 'README.md'))
  ? false
  : `the discovery captures are not at ${DISCOVERY_FIXTURES} (expected ../shared/fixtures/dubbo-discovery next to the repository; set DUBBO_DISCOVERY_FIXTURES to point elsewhere)`;

// CI always has the captures, so there a missing folder fails every file that reads them instead of
// quietly skipping their tests (scripts/run-tests.mjs sets this when CI is set).
if (fixturesMissing !== false && process.env['TEST_FIXTURES_REQUIRED'] === '1') {
  throw new Error(`${fixturesMissing}. With CI set, the tests that read them must run, not skip.`);
}

export function fixture(name: string): Buffer {
  return readFileSync(path.join(DISCOVERY_FIXTURES, name));
}

export function fixtureNames(pattern: RegExp): string[] {
  return fixturesMissing ? [] : readdirSync(DISCOVERY_FIXTURES).filter((name) => pattern.test(name)).sort();
}

/** Every way to cut `bytes` in two (plus whole and byte by byte), for streaming readers. */
export function* splits(bytes: Buffer): Generator<{label: string; chunks: Buffer[]}> {
  yield {label: 'whole', chunks: [bytes]};
  for (let at = 1; at < bytes.length; at++) yield {label: `split at ${at}`, chunks: [bytes.subarray(0, at), bytes.subarray(at)]};
  yield {label: 'byte by byte', chunks: Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))};
}
