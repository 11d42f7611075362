// node:test's spec reporter, plus two summaries printed just before node's closing `ℹ tests …`
// lines (which stay last: CI reads them):
//
//   - what was skipped and why, grouped by reason. node counts skipped tests only: a suite
//     skipped with describe(…, {skip}) never registers its tests, so `ℹ skipped` leaves them
//     out; here every skipped suite is named too.
//   - the wall time of each test file as the runner saw it, slowest first, so a slow file shows
//     in every CI log.
//
// scripts/run-tests.mjs passes it to `node --test` as --test-reporter.
import {existsSync} from 'node:fs';
import {join, relative, resolve} from 'node:path';
import {Readable, pipeline} from 'node:stream';
import {spec} from 'node:test/reporters';

const SLOWEST_SHOWN = 20;

export default async function* report(source) {
  const run = new RunRecord();
  async function* withSummaries() {
    const closing = [];
    for await (const compiledEvent of source) {
      const event = withSourcePaths(compiledEvent);
      run.record(event);
      // The run's own totals are diagnostics of no file; they come last and stay last.
      if (event.type === 'test:diagnostic' && event.data.file === undefined) closing.push(event);
      else yield event;
    }
    for (const message of [...run.skipLines(), ...run.fileTimeLines()]) yield {type: 'test:diagnostic', data: {nesting: 0, message}};
    yield* closing;
  }
  const specReporter = new spec();
  pipeline(Readable.from(withSummaries()), specReporter, () => {});
  yield* specReporter;
}

/**
 * run-tests.mjs runs the compiled copies of the test files (scripts/test-mirror.mjs); the events
 * name them by their sources instead.
 */
const MIRROR = process.env.TEST_MIRROR;
const MIRROR_OF = process.env.TEST_MIRROR_OF;
const sources = new Map();

function sourceOf(file) {
  if (MIRROR === undefined || MIRROR_OF === undefined || !file.startsWith(`${MIRROR}/`)) return file;
  let source = sources.get(file);
  if (source === undefined) {
    const base = join(MIRROR_OF, relative(MIRROR, file)).replace(/\.js$/, '');
    source = existsSync(`${base}.tsx`) ? `${base}.tsx` : `${base}.ts`;
    sources.set(file, source);
  }
  return source;
}

/**
 * Events name a file by its absolute path, but Node 24 gives a file's own test (and its output) the
 * path relative to the working directory: all of them get the absolute path of the source.
 */
function withSourcePaths(event) {
  const file = event.data?.file;
  if (typeof file !== 'string') return event;
  const source = sourceOf(resolve(file));
  const ofFile = typeof event.data.name === 'string' && resolve(event.data.name) === resolve(file);
  return {...event, data: {...event.data, file: source, name: ofFile ? relative(process.cwd(), source) : event.data.name}};
}

class RunRecord {
  /** file → {startedAt, lastEventAt, durationMs}; durationMs is node's own figure when it reports one. */
  #files = new Map();
  /** reason → {tests, suites, files} */
  #skips = new Map();

  record(event) {
    const {file, name, nesting} = event.data ?? {};
    if (file === undefined) return;
    const now = performance.now();
    let timing = this.#files.get(file);
    if (timing === undefined) this.#files.set(file, (timing = {startedAt: now, lastEventAt: now, durationMs: undefined}));
    // node runs each file as a test named after the file: its dequeue is the child's start and its
    // completion carries the file's wall time. Without those events, first to last event.
    const ofFile = nesting === 0 && typeof name === 'string' && resolve(name) === file;
    if (event.type === 'test:dequeue' && ofFile) timing.startedAt = now;
    if (event.type === 'test:complete' && ofFile) timing.durationMs = event.data.details?.duration_ms;
    timing.lastEventAt = now;
    if (event.type === 'test:pass' && event.data.skip !== undefined && event.data.skip !== false) {
      const reason = typeof event.data.skip === 'string' ? event.data.skip : '(no reason given)';
      let skipped = this.#skips.get(reason);
      if (skipped === undefined) this.#skips.set(reason, (skipped = {tests: 0, suites: 0, files: new Set()}));
      if (event.data.details?.type === 'suite') skipped.suites++;
      else skipped.tests++;
      skipped.files.add(relative(process.cwd(), file));
    }
  }

  skipLines() {
    if (this.#skips.size === 0) return ['skipped: nothing'];
    const all = [...this.#skips.values()];
    const tests = all.reduce((sum, entry) => sum + entry.tests, 0);
    const suites = all.reduce((sum, entry) => sum + entry.suites, 0);
    const lines = [`skipped: ${counted(tests, 'test')} and ${counted(suites, 'suite')} (the tests of a skipped suite are not counted: they never registered)`];
    for (const [reason, entry] of [...this.#skips].sort(([, a], [, b]) => b.tests + b.suites - a.tests - a.suites)) {
      const what = [entry.tests > 0 ? counted(entry.tests, 'test') : '', entry.suites > 0 ? counted(entry.suites, 'suite') : ''].filter(Boolean).join(' and ');
      lines.push(`  ${what} in ${[...entry.files].sort().join(', ')}: ${reason}`);
    }
    return lines;
  }

  fileTimeLines() {
    const times = [...this.#files].map(([file, timing]) => ({
      file: relative(process.cwd(), file),
      ms: timing.durationMs ?? timing.lastEventAt - timing.startedAt,
    })).sort((a, b) => b.ms - a.ms);
    if (times.length === 0) return [];
    const total = times.reduce((sum, {ms}) => sum + ms, 0);
    const shown = times.slice(0, SLOWEST_SHOWN);
    return [
      `test files by wall time: the slowest ${shown.length} of ${times.length}, ${seconds(total)} for all of them one after another`,
      ...shown.map(({file, ms}) => `  ${seconds(ms).padStart(8)}  ${file}`),
    ];
  }
}

function counted(count, noun) {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}
