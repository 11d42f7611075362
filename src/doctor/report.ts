import {CATALOGUE} from './catalogue.js';
import type {CheckResult, CheckStatus} from './checks.js';

export const SYMBOLS: Readonly<Record<CheckStatus, string>> = {ok: '✓', warn: '!', fail: '✗', skip: '-'};

/** Titles line up in a column as wide as the longest title in the catalogue (stable between runs). */
const TITLE_WIDTH = Math.max(...CATALOGUE.map((check) => check.title.length));
const INDENT = ' '.repeat(2 + TITLE_WIDTH + 2);

/** One check as text: `✓ title  summary`, then its details and its fix, indented under the summary. */
export function formatResult(result: CheckResult, prefix = ''): string {
  const lines = [`${prefix}${SYMBOLS[result.status]} ${result.title.padEnd(TITLE_WIDTH)}  ${result.summary}`];
  for (const detail of result.details) lines.push(`${prefix}${INDENT}${detail}`);
  if (result.fix !== undefined && result.status !== 'ok') lines.push(`${prefix}${INDENT}fix: ${result.fix}`);
  return `${lines.join('\n')}\n`;
}

/** The last line: what passed, what failed. */
export function formatSummary(results: readonly CheckResult[]): string {
  const count = (status: CheckStatus) => results.filter((result) => result.status === status).length;
  const failed = count('fail');
  const warned = count('warn');
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (failed === 0 && warned === 0) return `\nall ${plural(count('ok'), 'check')} passed\n`;
  const parts = [failed > 0 ? `${plural(failed, 'check')} failed` : undefined, warned > 0 ? plural(warned, 'warning') : undefined].filter((part) => part !== undefined);
  return `\n${parts.join(', ')}: the fix is under each line (docs/troubleshooting.md explains every check)\n`;
}

/** 0 when nothing failed (warnings allowed), 1 otherwise. */
export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.some((result) => result.status === 'fail') ? 1 : 0;
}

export function doctorJson(results: readonly CheckResult[]): {ok: boolean; checks: CheckResult[]} {
  return {ok: doctorExitCode(results) === 0, checks: [...results]};
}
