// One check's outcome, and how a check turns its verdict into one (the catalogue's fix when it
// gives none): shared by every file of checks.
import {checkDefinition, problemOf} from './catalogue.js';
import type {CheckId} from './catalogue.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** The one line after the title. */
  summary: string;
  /** Lines under it: a table, a plugin's messages, the applications found. */
  details: string[];
  /** The catalogue problem this is (when not ok). */
  problem?: string;
  /** What to do (when not ok): specific when the check knows more, else the catalogue's fix. */
  fix?: string;
  elapsedMs?: number;
  /** Machine-readable facts for --json (the permission table, the applications, the server version, ...). */
  data?: Record<string, unknown>;
}

export type Verdict = Omit<CheckResult, 'id' | 'title'>;

export function result(id: CheckId, verdict: Verdict): CheckResult {
  const {fix, ...rest} = verdict;
  const fallback = verdict.problem === undefined || verdict.status === 'ok' || verdict.status === 'skip' ? undefined : problemOf(id, verdict.problem).fix;
  const chosen = fix ?? fallback;
  return {id, title: checkDefinition(id).title, ...rest, ...(chosen === undefined ? {} : {fix: chosen})};
}

export function skipped(id: CheckId, why: string): CheckResult {
  return result(id, {status: 'skip', summary: `skipped: ${why}`, details: []});
}

