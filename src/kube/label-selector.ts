import {DubboTunnelError} from '../core/errors.js';

/** One requirement of a label selector (k8s.io/apimachinery/pkg/labels, selector.go). */
export type Requirement =
  | {key: string; op: 'exists' | 'not-exists'}
  | {key: string; op: 'in' | 'notin'; values: readonly string[]};

export type LabelSelector = readonly Requirement[];

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function invalid(text: string, why: string): DubboTunnelError {
  return new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `invalid label selector '${text}': ${why}`, {
    hint: 'use kubectl syntax, e.g. -l app=user-rpc, -l \'tier in (rpc,backend)\', -l \'!canary\'',
  });
}

/** Splits at commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === ',' && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

/** Parses kubectl's `-l` syntax: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`. */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.trim() === '') return [];
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    if (part === '') throw invalid(text, 'empty requirement');
    let match: RegExpExecArray | null;
    let requirement: Requirement;
    if ((match = /^!\s*(\S+)$/.exec(part))) {
      requirement = {key: match[1] ?? '', op: 'not-exists'};
    } else if ((match = /^(\S+?)\s*(==|!=|=)\s*(\S*)$/.exec(part))) {
      const value = match[3] ?? '';
      if (!VALUE.test(value)) throw invalid(text, `bad value '${value}'`);
      requirement = {key: match[1] ?? '', op: match[2] === '!=' ? 'notin' : 'in', values: [value]};
    } else if ((match = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part))) {
      const values = (match[3] ?? '').split(',').map((value) => value.trim());
      for (const value of values) if (!VALUE.test(value)) throw invalid(text, `bad value '${value}'`);
      requirement = {key: match[1] ?? '', op: match[2] === 'in' ? 'in' : 'notin', values};
    } else if (/^\S+$/.test(part)) {
      requirement = {key: part, op: 'exists'};
    } else {
      throw invalid(text, `cannot read '${part}'`);
    }
    if (!KEY.test(requirement.key)) throw invalid(text, `bad key '${requirement.key}'`);
    requirements.push(requirement);
  }
  return requirements;
}

export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  return selector.every((requirement) => {
    const value = labels?.[requirement.key];
    switch (requirement.op) {
      case 'exists': return value !== undefined;
      case 'not-exists': return value === undefined;
      case 'in': return value !== undefined && requirement.values.includes(value);
      case 'notin': return value === undefined || !requirement.values.includes(value);
    }
  });
}

/** `app=user-rpc,tier=rpc` from a Service's spec.selector, for kubectl hints. */
export function formatSelector(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  if (labels === undefined) return undefined;
  const entries = Object.entries(labels);
  return entries.length === 0 ? undefined : entries.map(([key, value]) => `${key}=${value}`).join(',');
}
