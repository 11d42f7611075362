/**
 * Label and field selectors with the grammar of k8s.io/apimachinery `labels.Parse` and
 * `fields.ParseSelector`. Parse errors carry the API server's wording so they can be answered with a
 * 400 BadRequest Status.
 */
import type {KubeObject} from './types.js';

export class SelectorError extends Error {}

type LabelRequirement =
  | {op: 'exists' | 'notexists'; key: string}
  | {op: 'in' | 'notin'; key: string; values: string[]}
  | {op: 'gt' | 'lt'; key: string; value: number};

export type LabelSelector = readonly LabelRequirement[];

const KEY = String.raw`[A-Za-z0-9][-A-Za-z0-9_./]*`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\((.*)\\)$`);
const NUMERIC = new RegExp(`^(${KEY})\\s*([<>])\\s*(-?\\d+)$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

/** Splits on commas that are not inside a `( … )` value set. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

export function parseLabelSelector(selector: string | null | undefined): LabelSelector {
  if (selector === null || selector === undefined || selector.trim() === '') return [];
  return splitTopLevel(selector).map((part): LabelRequirement => {
    let m = NOT_EXISTS.exec(part);
    if (m?.[1] !== undefined) return {op: 'notexists', key: m[1]};
    m = SET.exec(part);
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) {
      const values = m[3].split(',').map((v) => v.trim());
      if (values.some((v) => !VALUE_ONLY.test(v))) {
        throw new SelectorError(`unable to parse requirement: values[0][${m[1]}]: Invalid value: "${m[3]}"`);
      }
      return {op: m[2] === 'in' ? 'in' : 'notin', key: m[1], values};
    }
    m = EQUALITY.exec(part);
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) {
      return {op: m[2] === '!=' ? 'notin' : 'in', key: m[1], values: [m[3]]};
    }
    m = NUMERIC.exec(part);
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) {
      return {op: m[2] === '>' ? 'gt' : 'lt', key: m[1], value: Number(m[3])};
    }
    m = EXISTS.exec(part);
    if (m?.[1] !== undefined) return {op: 'exists', key: m[1]};
    throw new SelectorError(`unable to parse requirement: found '${part}', expected: identifier`);
  });
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const all = labels ?? {};
  return selector.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(all, r.key);
    const value = all[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return value !== undefined && r.values.includes(value);
      // `!=` and `notin` also match objects that lack the label (labels.Requirement.Matches).
      case 'notin':
        return value === undefined || !r.values.includes(value);
      case 'gt':
        return value !== undefined && /^-?\d+$/.test(value) && Number(value) > r.value;
      case 'lt':
        return value !== undefined && /^-?\d+$/.test(value) && Number(value) < r.value;
    }
  });
}

interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}
export type FieldSelector = readonly FieldRequirement[];

/**
 * Field labels each resource supports (`AddFieldLabelConversionFunc` registrations in
 * pkg/apis/core/v1/conversion.go); anything else is "field label not supported".
 */
const FIELD_LABELS: Record<string, readonly string[]> = {
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork',
    'status.phase', 'status.podIP', 'status.podIPs', 'status.nominatedNodeName'],
  namespaces: ['status.phase'],
  services: ['spec.clusterIP', 'spec.type'],
};

export function parseFieldSelector(selector: string | null | undefined, plural: string): FieldSelector {
  if (selector === null || selector === undefined || selector.trim() === '') return [];
  return splitTopLevel(selector).map((part) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) {
      throw new SelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
    }
    const field = m[1].trim();
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !(FIELD_LABELS[plural] ?? []).includes(field)) {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    return {field, negate: m[2] === '!=', value: m[3].replace(/\\(.)/g, '$1')};
  });
}

function fieldValue(obj: KubeObject, field: string): string {
  if (field === 'status.podIPs') {
    // Matches if any of the pod IPs equals the value; handled by the caller through the first IP here.
    field = 'status.podIP';
  }
  let current: unknown = obj;
  for (const step of field.split('.')) {
    if (current === null || typeof current !== 'object') return '';
    current = (current as Record<string, unknown>)[step];
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  return '';
}

export function matchesFields(selector: FieldSelector, obj: KubeObject): boolean {
  return selector.every((r) => (fieldValue(obj, r.field) === r.value) !== r.negate);
}
