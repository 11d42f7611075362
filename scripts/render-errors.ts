import {EXIT_CODES} from '../src/cli/report-error.js';
import {ERROR_CODES} from '../src/core/errors.js';

export const ERRORS_FILE = 'docs/errors.md';
export const REGENERATE_ERRORS = 'node --import tsx scripts/errors-doc.ts';

const WHERE: Record<string, string> = {
  answer: 'Dubbo error response',
  cli: 'command error',
  call: '`dubbo-tunnel call`',
  http: 'HTTP JSON answer',
  log: 'log / event',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** docs/errors.md: every stable code, where it shows up, what it means and what to do. */
export function renderErrors(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, entry]) => {
    const where = entry.where.split(', ').map((place) => WHERE[place] ?? place).join(', ');
    return `| \`${code}\` | ${cell(where)} | ${cell(entry.meaning)} | ${cell(entry.fix)} |`;
  });
  return [
    '# Error codes',
    '',
    `<!-- Generated from src/core/errors.ts by \`${REGENERATE_ERRORS}\`; test/docs/errors.test.ts fails when it is out of date. -->`,
    '',
    'Every failure dubbo-tunnel reports carries one of these codes, and a code never changes meaning,',
    'so scripts and log searches can rely on it:',
    '',
    '- a Dubbo error response a consumer gets reads `dubbo-tunnel [DT_ERR_NO_ROUTE]: no route for …`',
    '  (the consumer sees it in its `RemotingException`), and the `request-completed` line of',
    '  `up --json` has `"code": "DT_ERR_NO_ROUTE"`;',
    '- a command that fails prints `dubbo-tunnel [DT_ERR_PORT_IN_USE]: …` and the fix on the next line;',
    '- `dubbo-tunnel call --json` has `"errorCode"` when the call failed.',
    '',
    '| Code | Seen as | Meaning | What to do |',
    '|---|---|---|---|',
    ...rows,
    '',
    '## Exit codes',
    '',
    'Every command exits with one of these (also listed by `dubbo-tunnel --help`); every usage error',
    'exits 2, whichever check found it:',
    '',
    '| Status | Meaning |',
    '|---|---|',
    ...Object.entries(EXIT_CODES).map(([status, meaning]) => `| ${status} | ${cell(meaning)} |`),
    '',
  ].join('\n');
}
