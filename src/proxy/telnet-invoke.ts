/**
 * Dubbo's telnet `invoke` on the tunnel's port: `invoke com.foo.UserService.getUser("42")`, or
 * `invoke getUser("42")` after `cd com.foo.UserService`. The words and the shape of the answers are
 * those of Dubbo's InvokeTelnet and ChangeTelnet (the QoS commands); the call itself is made by
 * whoever gives the shell a ShellInvoker (the CLI: the built-in consumer, through this same port).
 */

import {parseServiceKey, serviceKey} from '../router/service-key.js';

/** One call the shell asks for. */
export interface ShellInvocation {
  /** Where the shell's own listener is reached (the address its telnet client connected to). */
  host: string;
  port: number;
  /** Sent as the target-application attachment; undefined lets the router choose by service. */
  application: string | undefined;
  /** The interface; `group` and `version` when the service key named them. */
  service: string;
  group: string | undefined;
  version: string | undefined;
  method: string;
  /** One JSON value per argument, as typed (a bare word is a string, as for `dubbo-tunnel call`). */
  args: string[];
  signal: AbortSignal;
}

/** How a call ended, already in words: `result` is the answer's JSON; `failure` one line saying what went wrong. */
export type ShellInvokeOutcome =
  | {kind: 'result'; json: string; elapsedMs: number}
  | {kind: 'failure'; text: string; elapsedMs?: number};

export type ShellInvoker = (invocation: ShellInvocation) => Promise<ShellInvokeOutcome>;

/** What the shell remembers between lines (ChangeTelnet's channel attribute, plus an application). */
export interface InvokeDefaults {
  service?: string;
  application?: string;
}

/** The request parsed from an `invoke` line, or the text to answer instead. */
export type ParsedInvoke =
  | {kind: 'call'; service: string; method: string; args: string[]}
  | {kind: 'answer'; text: string};

const USAGE = [
  'Please input method name, eg: ',
  'invoke xxxMethod(1234, "abcd", {"prop" : "value"})',
  'invoke XxxService.xxxMethod(1234, "abcd", {"prop" : "value"})',
  'invoke com.xxx.XxxService.xxxMethod(1234, "abcd", {"prop" : "value"})',
].join('\r\n');

/**
 * `Service.method(args)` or `method(args)` (with a default service from `cd`), as InvokeTelnet
 * reads it: the method ends at the first `(`, the service is everything before the last dot of
 * what comes before, and the arguments are a JSON list without its brackets.
 */
export function parseInvoke(text: string, defaults: InvokeDefaults): ParsedInvoke {
  const message = text.trim();
  if (message === '') return {kind: 'answer', text: USAGE};
  const open = message.indexOf('(');
  if (open < 0 || !message.endsWith(')')) return {kind: 'answer', text: 'Invalid parameters, format: service.method(args)'};
  let method = message.slice(0, open).trim();
  let service = defaults.service;
  const dot = method.lastIndexOf('.');
  if (dot >= 0) {
    service = method.slice(0, dot).trim();
    method = method.slice(dot + 1).trim();
  }
  if (service === undefined || service === '') {
    return {kind: 'answer', text: 'If you want to invoke like [invoke sayHello("xxxx")], please execute cd command first, or you can execute it like [invoke IHelloService.sayHello("xxxx")]'};
  }
  if (method === '') return {kind: 'answer', text: 'Invalid parameters, format: service.method(args)'};
  const args = splitArguments(message.slice(open + 1, -1));
  if (typeof args === 'string') return {kind: 'answer', text: `Invalid json argument, cause: ${args}`};
  return {kind: 'call', service, method, args};
}

/**
 * The top-level items of a JSON list written without its brackets: commas inside strings, objects
 * and lists stay. A single-quoted string (fastjson, which Dubbo parses this with, takes them) becomes
 * a JSON string. Returns why when the brackets or quotes do not match.
 */
export function splitArguments(text: string): string[] | string {
  const items: string[] = [];
  let depth = 0;
  let quote: '"' | '\'' | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote !== undefined) {
      if (char === '\\') i++;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === '\'') quote = char;
    else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      if (--depth < 0) return `unexpected '${char}' at column ${i + 1}`;
    } else if (char === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quote !== undefined) return `unterminated string starting with ${quote}`;
  if (depth > 0) return 'a { or [ is not closed';
  items.push(text.slice(start));
  const trimmed = items.map((item) => item.trim());
  if (trimmed.length === 1 && trimmed[0] === '') return [];
  if (trimmed.includes('')) return 'an argument is missing between two commas';
  return trimmed.map(singleQuoted);
}

/** `'abc'` -> `"abc"`; anything else unchanged. */
function singleQuoted(item: string): string {
  if (item.length < 2 || !item.startsWith('\'') || !item.endsWith('\'')) return item;
  return JSON.stringify(item.slice(1, -1).replace(/\\'/g, '\''));
}

/** A service as a call names it: its key for the words, and the request's interface, group and version. */
export interface ResolvedService {
  key: string;
  service: string;
  group: string | undefined;
  version: string | undefined;
}

/**
 * What a typed service name means, as InvokeTelnet and ChangeTelnet match it: a whole key
 * (`g1/demo.PayService:1.0.0`) as typed; else the one known key whose interface is that name, or
 * whose simple name it is (`UserService`, ignoring case), with that key's group and version; else
 * the name as typed, and the router decides (and says when it is ambiguous or unknown).
 */
export function resolveService(name: string, known: Iterable<string>): ResolvedService {
  const typed = parseServiceKey(name);
  const asTyped = (): ResolvedService => ({key: name, service: typed?.interface ?? name, group: typed?.group, version: typed?.version});
  if (typed === undefined || typed.group !== undefined || typed.version !== undefined) return asTyped();
  const candidates = [...new Set(known)].flatMap((key) => {
    const parts = parseServiceKey(key);
    if (parts === undefined) return [];
    const matches = name.includes('.') ? parts.interface === name : simpleName(parts.interface).toLowerCase() === name.toLowerCase();
    return matches ? [{key: serviceKey(parts.group, parts.interface, parts.version), service: parts.interface, group: parts.group, version: parts.version}] : [];
  });
  const unique = [...new Map(candidates.map((candidate) => [candidate.key, candidate])).values()];
  return unique.length === 1 && unique[0] !== undefined ? unique[0] : asTyped();
}

function simpleName(iface: string): string {
  return iface.slice(iface.lastIndexOf('.') + 1);
}

/**
 * `cd <service>` (ChangeTelnet), `cd <application>` (this tunnel's addition: later calls carry it as
 * the target-application attachment), `cd /` or `cd ..` to forget both. Returns the new defaults
 * and the answer.
 */
export function changeDefaults(args: readonly string[], defaults: InvokeDefaults, applications: readonly string[], known: Iterable<string>): {defaults: InvokeDefaults; text: string} {
  const target = args[0];
  if (target === undefined || args.length > 1) {
    return {defaults, text: 'Please input service name, eg: \r\ncd XxxService\r\ncd com.xxx.XxxService\r\ncd <application> (calls then carry it as target-application)'};
  }
  if (target === '/' || target === '..') {
    const what = [defaults.application === undefined ? undefined : `application ${defaults.application}`, defaults.service === undefined ? undefined : `service ${defaults.service}`]
      .filter((part) => part !== undefined);
    return {defaults: {}, text: what.length === 0 ? 'Cancelled default service null.' : `Cancelled default ${what.join(' and ')}.`};
  }
  if (applications.includes(target)) {
    return {
      defaults: {...defaults, application: target},
      text: `Used the application ${target} as default: invoke sends it as target-application.\r\nYou can cancel it by command: cd /`,
    };
  }
  const service = resolveService(target, known).key;
  return {defaults: {...defaults, service}, text: `Used the ${service} as default.\r\nYou can cancel default service by command: cd /`};
}

/** `pwd` (PwdTelnet): the default service or `/`, after the application when one is chosen. */
export function describeDefaults(defaults: InvokeDefaults): string {
  const service = defaults.service ?? '/';
  return defaults.application === undefined ? service : `${defaults.application}: ${service}`;
}

/** InvokeTelnet's answer: which service, then `result: <json>` and `elapsed: N ms.`, or the failure. */
export function describeOutcome(service: string, method: string, outcome: ShellInvokeOutcome): string {
  const head = `Use default service ${service}.`;
  if (outcome.kind === 'result') return `${head}\r\nresult: ${outcome.json}\r\nelapsed: ${outcome.elapsedMs} ms.`;
  const elapsed = outcome.elapsedMs === undefined ? '' : `\r\nelapsed: ${outcome.elapsedMs} ms.`;
  return `${head}\r\nFailed to invoke method ${method}, cause: ${outcome.text}${elapsed}`;
}
