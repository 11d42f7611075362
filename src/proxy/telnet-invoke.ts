/**
 * Dubbo's telnet `invoke` on the tunnel's port: `invoke com.foo.UserService.getUser("42")`, or
 * `invoke getUser("42")` after `cd com.foo.UserService`. The words and the shape of the answers are
 * those of Dubbo's InvokeTelnet and ChangeTelnet (the QoS commands); the call itself is made by
 * whoever gives the shell a ShellInvoker (the CLI: the built-in consumer, through this same port).
 */

/** One call the shell asks for. */
export interface ShellInvocation {
  /** Where the shell's own listener is reached (the address its telnet client connected to). */
  host: string;
  port: number;
  /** Sent as the target-application attachment; undefined lets the router choose by service. */
  application: string | undefined;
  service: string;
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

/**
 * `UserService` -> `com.foo.UserService` when exactly one known interface has that simple name
 * (InvokeTelnet matches the simple name too, ignoring case); a name with a package, or one that is
 * not known, is left as typed and the router decides.
 */
export function resolveServiceName(name: string, known: Iterable<string>): string {
  if (name.includes('.') || name.includes('/')) return name;
  const matches = [...new Set(known)].filter((candidate) => simpleName(candidate).toLowerCase() === name.toLowerCase());
  return matches.length === 1 && matches[0] !== undefined ? matches[0] : name;
}

function simpleName(serviceKey: string): string {
  const withoutGroup = serviceKey.slice(serviceKey.indexOf('/') + 1);
  const colon = withoutGroup.indexOf(':');
  const name = colon < 0 ? withoutGroup : withoutGroup.slice(0, colon);
  return name.slice(name.lastIndexOf('.') + 1);
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
  const service = resolveServiceName(target, known);
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
