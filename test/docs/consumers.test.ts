// Checks every code block of docs/consumers.md. Each block is introduced by `<!-- snippet: NAME -->`
// and NAME must have a checker below, so a new block without a test fails here.
// - Java: the blocks must equal the files in test/fixtures/java/ (so the doc cannot drift from what
//   is compiled), and they are compiled with javac for Java 8 against stub sources shaped like the
//   Dubbo 3.x and 2.7 APIs, then the Filter's logic is run (fixtures/java/harness). Skipped with a
//   message when javac is not installed.
// - Properties, the JVM flag and YAML: parsed the way Java/Spring/Dubbo read them, and the URLs
//   resolved as Dubbo would (RegexProperties for the resolve file).
// - Shell: split into words by bash itself; `dubbo-tunnel call` is run against the real router.
// - Node: the dubbo-js consumer is run against the real router when `apache-dubbo-consumer` can be
//   loaded (see DUBBO_JS_HINT), otherwise skipped with a message.
import assert from 'node:assert/strict';
import {execFile, spawnSync} from 'node:child_process';
import {cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, test} from 'node:test';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import vm from 'node:vm';
import {main} from '../../src/cli/main.js';
import {parseUpOptions} from '../../src/cli/commands/up.js';
import {expandHome, renderResolveFile} from '../../src/learning/resolve-file.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import {TestProvider} from '../support/dubbo-peers.js';
import {waitFor} from '../support/wait.js';
import {loadDubboJs} from '../support/dubbo-js.js';
import {collector} from '../support/output.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = path.join(ROOT, 'test/fixtures/java');
const DOC_PATH = path.join(ROOT, 'docs/consumers.md');

interface Snippet {
  name: string;
  lang: string;
  code: string;
}

/** Every fenced block, with the name from the `<!-- snippet: NAME -->` line right before it. */
function readSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const marker = /^<!-- snippet: ([a-z0-9-]+) -->$/.exec(lines[i - 1] ?? '');
    assert.ok(marker, `docs/consumers.md line ${i + 1}: a code block without a <!-- snippet: NAME --> line right before it`);
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `docs/consumers.md line ${i + 1}: unclosed code block`);
    snippets.push({name: marker[1] ?? '', lang: open[1] ?? '', code: `${lines.slice(i + 1, end).join('\n')}\n`});
    i = end;
  }
  return snippets;
}

const SNIPPETS = readSnippets(readFileSync(DOC_PATH, 'utf8'));

function snippet(name: string): string {
  const found = SNIPPETS.filter((s) => s.name === name);
  assert.equal(found.length, 1, `docs/consumers.md must have exactly one snippet named ${name}`);
  return (found[0] as Snippet).code;
}

const CHECKED = [
  'shell-resolve-file', 'resolve-file-written', 'shell-java-no-registry',
  'shell-call', 'java-filter', 'java-filter-spi', 'java-reference', 'properties-reference', 'shell-jvm-flag', 'resolve-file',
  'yaml-profile', 'node-consumer', 'node-call',
];

// ---------------------------------------------------------------------------------------------
// Parsers that mirror how Java / Spring / Dubbo read these files

/** java.util.Properties for simple files: the key ends at the first '=', ':' or whitespace. No continuations. */
function parseProperties(text: string): [string, string][] {
  const entries: [string, string][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    assert.ok(!line.endsWith('\\'), `line continuation not expected: ${raw}`);
    assert.ok(!line.includes('\\'), `escapes not expected: ${raw}`);
    const end = line.search(/[=: \t\f]/);
    assert.ok(end > 0, `no key in: ${raw}`);
    const key = line.slice(0, end);
    const value = line.slice(end).replace(/^[ \t\f]*[=:]?[ \t\f]*/, '');
    entries.push([key, value]);
  }
  return entries;
}

/** Dubbo 3.0.2+ RegexProperties.getProperty: exact key, else keys in reverse order as full-match regexes, a leading '*' read as '.*'. */
function regexLookup(entries: [string, string][], key: string): string | undefined {
  const map = new Map(entries);
  const exact = map.get(key);
  if (exact !== undefined) return exact;
  const pattern = [...map.keys()].sort().reverse().find((k) => new RegExp(`^(?:${k.startsWith('*') ? `.${k}` : k})$`).test(key));
  return pattern === undefined ? undefined : map.get(pattern);
}

type Yaml = string | boolean | {[key: string]: Yaml};

/**
 * The block-mapping subset of YAML the doc uses: `key:` and `key: scalar`, two-space indents, full-line
 * comments. It rejects anything else, so what it accepts means the same to a real YAML parser.
 */
function parseYaml(text: string): Yaml {
  const root: {[key: string]: Yaml} = {};
  const stack: {indent: number; map: {[key: string]: Yaml}}[] = [{indent: -1, map: root}];
  for (const raw of text.split('\n')) {
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    assert.ok(!raw.includes('\t'), `tab in YAML: ${raw}`);
    const match = /^( *)([A-Za-z0-9_.-]+):(?: (.*))?$/.exec(raw);
    assert.ok(match, `not a simple YAML mapping line: ${raw}`);
    const indent = (match[1] ?? '').length;
    assert.equal(indent % 2, 0, `odd indent: ${raw}`);
    while ((stack.at(-1)?.indent ?? -1) >= indent) stack.pop();
    const parent = stack.at(-1);
    assert.ok(parent, `bad indent: ${raw}`);
    const key = match[2] ?? '';
    const value = match[3];
    if (value === undefined) {
      const child: {[key: string]: Yaml} = {};
      parent.map[key] = child;
      stack.push({indent, map: child});
      continue;
    }
    // A plain scalar: no indicator first, no ': ' or ' #' inside (those would change its meaning).
    assert.ok(!/^[[\]{}&*!|>'"%@`#,?-]/.test(value) && !value.includes(': ') && !value.includes(' #'), `not a plain scalar: ${value}`);
    parent.map[key] = value === 'true' ? true : value === 'false' ? false : value;
  }
  return root;
}

/** Spring's YamlProcessor flattening: nested keys joined with '.'. */
function flatten(value: Yaml, prefix = ''): Map<string, string | boolean> {
  const out = new Map<string, string | boolean>();
  if (typeof value !== 'object') {
    out.set(prefix, value);
    return out;
  }
  for (const [key, child] of Object.entries(value)) {
    for (const [k, v] of flatten(child, prefix === '' ? key : `${prefix}.${key}`)) out.set(k, v);
  }
  return out;
}

/** A direct URL to the tunnel: dubbo://localhost:20880, hessian2 forced; returns its query. */
function checkTunnelUrl(text: string): URLSearchParams {
  const url = new URL(text);
  assert.equal(url.protocol, 'dubbo:', text);
  assert.equal(url.hostname, 'localhost', text);
  assert.equal(url.port, '20880', text);
  assert.equal(url.searchParams.get('serialization'), 'hessian2', `${text} must force hessian2`);
  // remote.application in the URL would be overwritten by DefaultProviderURLMergeProcessor (see the doc).
  assert.equal(url.searchParams.has('remote.application'), false);
  return url.searchParams;
}

/** How bash splits a command line into words (the doc's shell lines are run through bash itself). */
function shellWords(line: string): string[] {
  const result = spawnSync('bash', ['-c', `words() { printf '%s\\0' "$@"; }; words ${line}`], {encoding: 'utf8'});
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\0').slice(0, -1);
}

// ---------------------------------------------------------------------------------------------

describe('docs/consumers.md', () => {
  test('every code block is named, and every name has a check in this file', () => {
    const names = SNIPPETS.map((s) => s.name);
    assert.deepEqual([...names].sort(), [...CHECKED].sort());
  });

  test('the Java blocks are the fixture files that are compiled', () => {
    const read = (relative: string) => readFileSync(path.join(FIXTURES, relative), 'utf8');
    assert.equal(snippet('java-filter'), read('src/com/example/dubbo/TargetApplicationFilter.java'));
    assert.equal(snippet('java-reference'), read('src/com/example/client/UserClient.java'));
    assert.equal(snippet('java-filter-spi'), read('resources/META-INF/dubbo/org.apache.dubbo.rpc.Filter'));
  });

  test('the SPI file names the Filter class under the Filter interface\'s own name', () => {
    const [entry, ...rest] = parseProperties(snippet('java-filter-spi'));
    assert.equal(rest.length, 0);
    const filter = snippet('java-filter');
    const pkg = /^package ([\w.]+);/m.exec(filter)?.[1];
    const cls = /^public class (\w+) implements Filter/m.exec(filter)?.[1];
    assert.deepEqual(entry, ['targetApplication', `${pkg}.${cls}`]);
    // The file is named after the extension interface, org.apache.dubbo.rpc.Filter.
    assert.ok(readFileSync(path.join(FIXTURES, 'stubs/dubbo-3/org/apache/dubbo/rpc/Filter.java'), 'utf8').includes('public interface Filter'));
  });

  test('properties: dubbo.reference.<interface>.url points at the tunnel with the provider application', () => {
    const entries = parseProperties(snippet('properties-reference'));
    assert.equal(entries.length, 1);
    const [key, value] = entries[0] as [string, string];
    assert.equal(/^dubbo\.reference\.([\w.$]+)\.url$/.exec(key)?.[1], 'com.example.UserService');
    assert.equal(checkTunnelUrl(value).get('application'), 'user-rpc');
  });

  test('JVM flag: one quoted -D<interface>=<url> word survives the shell intact', () => {
    const words = shellWords(snippet('shell-jvm-flag').trim());
    assert.deepEqual(words.slice(0, 1), ['java']);
    assert.deepEqual(words.slice(2), ['-jar', 'app.jar']);
    const match = /^-D([\w.$]+)=(.*)$/.exec(words[1] ?? '');
    assert.equal(match?.[1], 'com.example.UserService');
    assert.equal(checkTunnelUrl(match?.[2] ?? '').get('application'), 'user-rpc');
  });

  test('resolve file: exact keys, a package regex and the * catch-all resolve like Dubbo 3.0.2+ RegexProperties', () => {
    const entries = parseProperties(snippet('resolve-file'));
    const application = (iface: string) => {
      const url = regexLookup(entries, iface);
      assert.ok(url !== undefined, `${iface} resolves to nothing`);
      return checkTunnelUrl(url).get('application');
    };
    assert.equal(application('com.example.UserService'), 'user-rpc');
    assert.equal(application('com.example.OrderService'), 'order-rpc');
    assert.equal(application('com.example.billing.InvoiceService'), 'billing-rpc');
    assert.equal(application('org.acme.AnythingElse'), null, 'the catch-all names no application');
    // Dubbo 2.7 (plain Properties) still finds the exact keys.
    assert.equal(new Map(entries).get('com.example.UserService'), regexLookup(entries, 'com.example.UserService'));
  });

  test('the no-code path: `up --resolve-file` parses, and the file it writes is what the doc shows', () => {
    const words = shellWords(snippet('shell-resolve-file').trim());
    assert.equal(words[0], 'dubbo-tunnel');
    const options = parseUpOptions(words.slice(2), {}, undefined);
    // The shell expands ~ (and a quoted ~ is expanded by dubbo-tunnel itself): the file consumers read without a flag.
    assert.equal(expandHome(options.resolveFile ?? ''), path.join(os.homedir(), 'dubbo-resolve.properties'));
    const written = parseProperties(renderResolveFile(['com.example.UserService', 'com.example.OrderService'], 'localhost:20880', 1));
    assert.deepEqual(written, parseProperties(snippet('resolve-file-written')));
    for (const [, url] of written) assert.equal(checkTunnelUrl(url).get('serialization'), 'hessian2');
    assert.deepEqual(shellWords(snippet('shell-java-no-registry').trim()), ['java', '-Ddubbo.registry.address=N/A', '-jar', 'app.jar']);
  });

  test('YAML profile: registry off, check off, and dubbo.reference.<interface>.url for each reference', () => {
    const flat = flatten(parseYaml(snippet('yaml-profile')));
    assert.equal(flat.get('dubbo.registry.address'), 'N/A');
    assert.equal(flat.get('dubbo.consumer.check'), false);
    const urls = [...flat].filter(([key]) => key.startsWith('dubbo.reference.'));
    assert.ok(urls.length >= 2);
    for (const [key, value] of urls) {
      const iface = /^dubbo\.reference\.([\w.$]+)\.url$/.exec(key)?.[1];
      assert.ok(iface, `${key} is not dubbo.reference.<interface>.url`);
      assert.match(checkTunnelUrl(String(value)).get('application') ?? '', /^[a-z]+-rpc$/);
    }
    // The same key as in the properties example.
    const [propertyKey, propertyValue] = parseProperties(snippet('properties-reference'))[0] as [string, string];
    assert.equal(flat.get(propertyKey), propertyValue);
  });
});

describe('docs/consumers.md against the real router', () => {
  let user: TestProvider;
  let order: TestProvider;
  let server: TunnelServer;

  before(async () => {
    // Two applications, so a call only reaches user-rpc when it names it.
    user = await TestProvider.start({application: 'user-rpc'});
    order = await TestProvider.start({application: 'order-rpc'});
    const routes = new RouteSource(createRouteTable([
      new StaticBackend('user-rpc', '127.0.0.1', user.port),
      new StaticBackend('order-rpc', '127.0.0.1', order.port),
    ]));
    server = await TunnelServer.start({host: '127.0.0.1', port: 0, routes});
  });
  after(async () => {
    await server.close(200);
    await user.close();
    await order.close();
  });

  test('`dubbo-tunnel call` from the doc reaches user-rpc', async () => {
    const words = shellWords(snippet('shell-call').trim());
    assert.equal(words[0], 'dubbo-tunnel');
    const out = collector();
    const err = collector();
    const code = await main([...words.slice(1), '--port', String(server.port), '--host', '127.0.0.1'], {
      stdout: out.stream, stderr: err.stream, env: {}, interactive: false,
    });
    assert.equal(code, 0, err.text());
    assert.equal(JSON.parse(out.text()), 'user-rpc:getUser');
    assert.equal(user.received.at(-1)?.attachments['target-application'], 'user-rpc');
  });

  test('the dubbo-js consumer and its attachment middleware', async (t) => {
    const load = loadDubboJs();
    if (typeof load === 'string') {
      t.skip(load);
      return;
    }
    const consumer = snippet('node-consumer');
    assert.equal(consumer.split("'localhost:20880'").length, 2, 'the snippet names the tunnel address once');
    const exports = runCommonJs(consumer.replace("'localhost:20880'", `'127.0.0.1:${server.port}'`), load, console);
    const logged: unknown[] = [];
    const requireForCall = (id: string) => {
      assert.equal(id, './tunnel-dubbo.js');
      return exports;
    };
    runCommonJs(snippet('node-call'), requireForCall, {...console, log: (value: unknown) => logged.push(value)});
    await waitFor(() => logged.length > 0, {timeoutMs: 10_000, message: 'the doc\'s node-call printed nothing'});
    assert.equal(logged[0], 'user-rpc:getUser');
    const request = user.received.at(-1);
    assert.equal(request?.service, 'com.example.UserService');
    assert.equal(request?.method, 'getUser');
    assert.equal(request?.parameterTypes, 'Ljava/lang/String;');
    assert.deepEqual(request?.args, ['u-1']);
    assert.equal(request?.attachments['target-application'], 'user-rpc');
    assert.equal(order.received.length, 0);
    // node-call closed the consumer: the router sees the connection go.
    await waitFor(() => server.connectionCount === 0, {message: 'dubbo-js did not close its connection'});
  });
});


/** Runs CommonJS source text with the given require and console; returns module.exports. */
function runCommonJs(code: string, require: (id: string) => unknown, consoleObject: Pick<Console, 'log'>): unknown {
  const module = {exports: {} as unknown};
  const fn = vm.compileFunction(code, ['require', 'module', 'exports', 'console'], {filename: 'docs/consumers.md'}) as
    (req: typeof require, mod: typeof module, exp: unknown, con: typeof consoleObject) => void;
  fn(require, module, module.exports, consoleObject);
  return module.exports;
}

// ---------------------------------------------------------------------------------------------
// Java

const JAVAC = spawnSync('javac', ['-version'], {encoding: 'utf8'});
const JAVA_SKIP = JAVAC.status === 0 ? false
  : 'javac not found: the Java snippets were not compiled. Install a JDK (Debian: apt-get install -y default-jdk-headless) to run these checks';

function javaSources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...javaSources(full));
    else if (name.endsWith('.java')) out.push(full);
  }
  return out;
}

/** Compiles the doc's classes + harness against one stub set (for Java 8, warnings are errors) and runs the harness. */
async function compileAndRun(work: string, stubs: string, filterSource: string): Promise<Map<string, string>> {
  const src = path.join(work, 'src');
  cpSync(path.join(FIXTURES, 'src'), src, {recursive: true});
  writeFileSync(path.join(src, 'com/example/dubbo/TargetApplicationFilter.java'), filterSource);
  cpSync(path.join(FIXTURES, 'harness'), src, {recursive: true});
  const classes = path.join(work, 'classes');
  mkdirSync(classes);
  await run('javac', [
    '--release', '8', '-Xlint:all,-serial,-options', '-Werror', '-d', classes,
    ...javaSources(path.join(FIXTURES, 'stubs', stubs)), ...javaSources(src),
  ]);
  const {stdout} = await run('java', ['-cp', classes, 'com.example.dubbo.FilterCheck']);
  return new Map(stdout.trim().split('\n').map((line) => {
    const eq = line.indexOf('=');
    return [line.slice(0, eq), line.slice(eq + 1)];
  }));
}

const EXPECTED_3X: [string, string][] = [
  ['direct', 'user-rpc'], ['explicit', 'order-rpc'], ['registry3', 'user-rpc'], ['metadata', 'user-rpc'], ['group', 'null'],
  ['blank', 'null'], ['none', 'null'],
  ['invoke-direct', '{target-application=user-rpc} continued=true result=null'], ['invoke-none', '{} continued=true result=null'],
];

describe('the Java snippets compile and behave (javac)', () => {
  const skip = JAVA_SKIP;
  let work: string;
  before(() => {
    if (skip === false) work = mkdtempSync(path.join(os.tmpdir(), 'dubbo-tunnel-java-'));
  });
  after(() => {
    if (skip === false) rmSync(work, {recursive: true, force: true});
  });

  test('Dubbo 3.x: the Filter and the @DubboReference class compile; the Filter picks the right target', {skip}, async () => {
    const results = await compileAndRun(path.join(work, '3'), 'dubbo-3', snippet('java-filter'));
    assert.deepEqual([...results], EXPECTED_3X);
  });

  test('Dubbo 2.7: with the one line the doc says to change, the same class compiles and works', {skip}, async () => {
    const filter = snippet('java-filter');
    const replacement = /For Dubbo 2\.7 use: (return [^;]+;)/.exec(filter)?.[1];
    assert.ok(replacement, 'the Filter\'s comment tells what to use on 2.7');
    const original = 'return url.getRemoteApplication();';
    assert.equal(filter.split(original).length, 2);
    const results = await compileAndRun(path.join(work, '27'), 'dubbo-2.7', filter.replace(original, replacement));
    // 2.7 has no ServiceAddressURL: its registry URLs carry remote.application as a parameter.
    assert.deepEqual([...results], EXPECTED_3X.map(([k, v]): [string, string] => [k, k === 'registry3' ? 'null' : v]));
  });

  test('the 3.x text does not compile against 2.7 (why the doc names the replacement)', {skip}, async () => {
    const dir = path.join(work, 'mismatch');
    mkdirSync(dir, {recursive: true});
    const file = path.join(dir, 'TargetApplicationFilter.java');
    writeFileSync(file, snippet('java-filter'));
    await assert.rejects(
      run('javac', ['-d', path.join(dir, 'classes'), ...javaSources(path.join(FIXTURES, 'stubs/dubbo-2.7')), file]),
      (error: {stderr?: string}) => /cannot find symbol[\s\S]*getRemoteApplication/.test(error.stderr ?? ''),
    );
  });
});
