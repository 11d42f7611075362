import {CATALOGUE} from '../src/doctor/catalogue.js';
import type {CheckDefinition} from '../src/doctor/catalogue.js';
import {SYMBOLS} from '../src/doctor/report.js';

export const TROUBLESHOOTING_FILE = 'docs/troubleshooting.md';
export const REGENERATE = 'node --import tsx scripts/troubleshooting.ts';

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
function anchor(title: string): string {
  return title.toLowerCase().replace(/[^\p{L}\p{N} -]/gu, '').replace(/ /g, '-');
}

/** Table cells cannot hold a pipe or a line break; `<file>` outside code would be taken for an HTML tag. */
function cell(text: string): string {
  const escaped = text.split('`').map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;'))).join('`');
  return escaped.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function section(check: CheckDefinition): string[] {
  return [
    `## ${check.title}`,
    '',
    check.verifies,
    '',
    '| Doctor says | Fix |',
    '|---|---|',
    ...check.problems.map((problem) => `| ${problem.warning === true ? SYMBOLS.warn : SYMBOLS.fail} ${cell(problem.symptom)} | ${cell(problem.fix)} |`),
    '',
  ];
}

/** docs/troubleshooting.md, rendered from the doctor's catalogue. */
export function renderTroubleshooting(): string {
  return [
    `<!-- Generated from src/doctor/catalogue.ts by \`${REGENERATE}\`. Edit the catalogue, not this file. -->`,
    '# Troubleshooting',
    '',
    '`dubbo-tunnel doctor` checks everything `dubbo-tunnel up` needs, in this order, and prints one line per',
    `check: \`${SYMBOLS.ok}\` fine, \`${SYMBOLS.warn}\` works but have a look, \`${SYMBOLS.fail}\` fails (the fix is printed under it), \`${SYMBOLS.skip}\` skipped`,
    'because an earlier check failed. It exits with status 1 when a check fails, and `--json` prints the',
    'same as JSON. It takes the Kubernetes flags of `up` (`--kubeconfig`, `--context`, `-n`, `-A`, `--source`,',
    '`-l`, `--ingress-class`) and `--port`, `--host`, `--allow-remote`, so it checks exactly what `up` would use.',
    '',
    '```',
    'dubbo-tunnel doctor',
    'dubbo-tunnel doctor --context kind-dev -n dev --port 20990',
    '```',
    '',
    'When `up` cannot start (kubeconfig, credentials, API server, permissions or port), it runs the checks',
    'that concern the error by itself and prints the ones that fail under the error.',
    '',
    '| Check | What it verifies |',
    '|---|---|',
    // The first sentence only; the section repeats it with the rest.
    ...CATALOGUE.map((check) => `| [${check.title}](#${anchor(check.title)}) | ${cell(check.verifies.split(/(?<=\.) (?=[A-Z])/)[0] ?? check.verifies)} |`),
    '',
    ...CATALOGUE.flatMap(section),
  ].join('\n');
}

export const README_FILE = 'README.md';
const README_BEGIN = '<!-- troubleshooting:begin (generated from src/doctor/catalogue.ts; edit the catalogue) -->';
const README_END = '<!-- troubleshooting:end -->';

/** The README's troubleshooting section: every problem the doctor knows, with its fix. */
export function renderReadmeTroubleshooting(): string {
  return [
    README_BEGIN,
    `Run \`dubbo-tunnel doctor\` first: one line per check, the fix under each failure (\`up\` also runs the checks that concern`,
    `an error when it cannot start). What it can report, and what to do (details in [${TROUBLESHOOTING_FILE}](${TROUBLESHOOTING_FILE})):`,
    '',
    '| Check | Doctor says | Fix |',
    '|---|---|---|',
    ...CATALOGUE.flatMap((check) => check.problems.map((problem) =>
      `| [${check.title}](${TROUBLESHOOTING_FILE}#${anchor(check.title)}) | ${problem.warning === true ? SYMBOLS.warn : SYMBOLS.fail} ${cell(problem.symptom)} | ${cell(problem.fix)} |`)),
    README_END,
  ].join('\n');
}

/** `readme` with its generated section replaced; throws when the markers are missing. */
export function spliceReadme(readme: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin === -1 || end === -1 || end < begin) throw new Error(`${README_FILE} has no troubleshooting markers (${README_BEGIN} ... ${README_END})`);
  return readme.slice(0, begin) + renderReadmeTroubleshooting() + readme.slice(end + README_END.length);
}
