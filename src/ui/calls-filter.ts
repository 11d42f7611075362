import type {CallRecord} from '../inspect/call-record.js';

/**
 * The calls view's filter line. Words are separated by spaces and all must match (case-insensitive
 * substrings):
 *
 *   user-rpc              the application, the service or the method contains it
 *   app:user-rpc          the application
 *   svc:UserService       the service (interface, or the gRPC service for Triple)
 *   method:getUser        the method; `#getUser` is the same
 *   UserService#getUser   the service and the method
 */
export interface CallFilter {
  readonly words: readonly FilterWord[];
}

type FilterWord =
  | {readonly field: 'any' | 'app' | 'svc' | 'method'; readonly text: string}
  | {readonly field: 'call'; readonly service: string; readonly method: string};

const PREFIXES = {'app:': 'app', 'svc:': 'svc', 'method:': 'method'} as const;

function parseWord(word: string): FilterWord | undefined {
  const lower = word.toLowerCase();
  for (const [prefix, field] of Object.entries(PREFIXES)) {
    if (lower.startsWith(prefix)) {
      const text = lower.slice(prefix.length);
      return text === '' ? undefined : {field, text};
    }
  }
  const hash = lower.indexOf('#');
  if (hash === -1) return {field: 'any', text: lower};
  const service = lower.slice(0, hash);
  const method = lower.slice(hash + 1);
  if (service === '') return method === '' ? undefined : {field: 'method', text: method};
  return {field: 'call', service, method};
}

export function parseCallFilter(text: string): CallFilter {
  return {words: text.split(/\s+/).filter((word) => word !== '').flatMap((word) => parseWord(word) ?? [])};
}

function contains(value: string | undefined, text: string): boolean {
  return value !== undefined && value.toLowerCase().includes(text);
}

function wordMatches(word: FilterWord, call: CallRecord): boolean {
  switch (word.field) {
    case 'any':
      return contains(call.application, word.text) || contains(call.service, word.text) || contains(call.method, word.text);
    case 'app':
      return contains(call.application, word.text);
    case 'svc':
      return contains(call.service, word.text);
    case 'method':
      return contains(call.method, word.text);
    case 'call':
      return contains(call.service, word.service) && (word.method === '' || contains(call.method, word.method));
  }
}

/** Whether `call` passes the filter words and, when `failedOnly`, failed. */
export function callMatches(call: CallRecord, filter: CallFilter, failedOnly: boolean): boolean {
  if (failedOnly && call.ok) return false;
  return filter.words.every((word) => wordMatches(word, call));
}
