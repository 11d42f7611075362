// A Java consumer end to end through the team gateway: the program in test/fixtures/java-consumer
// (Dubbo 2 frames as ExchangeCodec lays them out, bodies written by Caucho Hessian2Output as
// DubboCodec writes them, answers read by Hessian2Input) is compiled with javac and run against the
// port of a laptop that runs `up --via` to the gateway (src/gateway, in this process, the in-cluster
// environment pointed at the fake API server), with two applications in two namespaces behind it.
// Skipped with the reason when javac or the Caucho Hessian jar is missing.
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {after, before, describe, test} from 'node:test';
import {openViaSource} from '../../src/cli/via-source.js';
import {TunnelEventBus} from '../../src/core/events.js';
import {startGateway} from '../../src/gateway/gateway.js';
import type {RunningGateway} from '../../src/gateway/gateway.js';
import {TunnelSession} from '../../src/session/session.js';
import type {DecodedRequest} from '../support/dubbo-wire.js';
import {TestProvider} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';

const SOURCE = fileURLToPath(new URL('../fixtures/java-consumer/JavaConsumer.java', import.meta.url));
/** Debian's libhessian-java (4.0.38); HESSIAN_JAR names another copy. */
const HESSIAN_JAR = process.env['HESSIAN_JAR'] ?? '/usr/share/java/hessian-4.0.38.jar';
/** Hessian 4.0.38 reads private JDK fields by reflection, which JDK 9+ refuses unless opened (test/fixtures/java-consumer/README.md). */
const ADD_OPENS = ['java.lang', 'java.util', 'java.math'].flatMap((pkg) => ['--add-opens', `java.base/${pkg}=ALL-UNNAMED`]);
const TOKENS = {alice: 'alice-java-token', bob: 'bob-java-token', gateway: 'gateway-sa-token'};

function skipReason(): string | false {
  const javac = spawnSync('javac', ['-version'], {encoding: 'utf8'});
  if (javac.status !== 0) return 'javac not found: install a JDK (Debian: apt-get install -y default-jdk-headless) to run the Java consumer';
  if (!existsSync(HESSIAN_JAR)) return `the Caucho Hessian jar ${HESSIAN_JAR} is missing: apt-get install -y libhessian-java (or set HESSIAN_JAR)`;
  return false;
}
const SKIP = skipReason();

/** One answer line the Java program prints. */
interface JavaAnswer {
  id: number;
  call: string;
  status: number;
  flag?: number;
  value?: string | null;
  error?: string;
  attachments?: Record<string, string>;
}

/** What each provider answers: its application, the method, and the argument as it decoded it. */
function describeArgument(argument: unknown): string {
  return typeof argument === 'string' ? argument : JSON.stringify(argument);
}
function answering(application: string): (request: DecodedRequest) => {value: string; attachments: Record<string, string>} {
  return (request) => ({value: `${application}:${request.method}:${describeArgument(request.args[0])}`, attachments: {dubbo: '2.0.2', 'answered-by': application}});
}

describe('a Java consumer (Caucho Hessian, one pipelined connection) through up --via and the gateway', {skip: SKIP}, () => {
  let api: FakeKubeApi;
  let user: TestProvider;
  let pay: TestProvider;
  let gateway: RunningGateway;
  let dir: string;
  let classes: string;
  const sessions: TunnelSession[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dt-java-gateway-'));
    classes = path.join(dir, 'classes');
    const javac = spawnSync('javac', ['-encoding', 'UTF-8', '-cp', HESSIAN_JAR, '-d', classes, SOURCE], {encoding: 'utf8'});
    assert.equal(javac.status, 0, `javac failed: ${javac.stderr}`);
    api = await FakeKubeApi.start({
      tls: true,
      users: {[TOKENS.alice]: 'alice', [TOKENS.bob]: 'bob', [TOKENS.gateway]: 'system:serviceaccount:dubbo-tunnel:dubbo-tunnel-gateway'},
      namespaces: ['default', 'shop', 'billing', 'dubbo-tunnel'],
      bookmarkIntervalMs: 0,
    });
    // bob may use shop only (and reach the gateway); alice and the gateway's service account may do everything.
    api.setRules('bob', [{verb: 'get', resource: 'services', namespace: 'shop'}]);
    user = await TestProvider.start({application: 'user-rpc', host: '127.0.0.2', handler: answering('user-rpc')});
    pay = await TestProvider.start({application: 'pay-rpc', host: '127.0.0.3', handler: answering('pay-rpc')});
    api.addDubboApp({namespace: 'shop', name: 'user-rpc', containerPort: user.port, pods: [{name: 'user-rpc-0', podIP: '127.0.0.2'}]});
    api.addDubboApp({namespace: 'billing', name: 'pay-rpc', containerPort: pay.port, pods: [{name: 'pay-rpc-0', podIP: '127.0.0.3'}]});
    const inCluster = api.inClusterEnv(dir, TOKENS.gateway);
    gateway = await startGateway({
      port: 0, host: '127.0.0.1', adminPort: 0, namespaces: ['shop', 'billing'], allNamespaces: false, discovery: {},
      allowAnonymous: false, noLearn: true, drainMs: 500, events: new TunnelEventBus(),
      env: inCluster,
    });
  });

  after(async () => {
    for (const session of sessions.splice(0)) await session.stop();
    await gateway?.stop();
    await Promise.all([user?.close(), pay?.close()]);
    await api?.stop();
    rmSync(dir, {recursive: true, force: true});
  });

  /** `up --via <gateway host:port>` as `who`: the laptop's local port, and how many consumer connections it accepted so far. */
  async function laptop(who: 'alice' | 'bob'): Promise<{port: number; connections: () => number}> {
    const kubeconfig = api.writeKubeconfig(dir, {fileName: `${who}.yaml`, token: TOKENS[who], user: who});
    const events = new TunnelEventBus();
    let connections = 0;
    events.on('connection-opened', () => connections++);
    const source = await openViaSource({target: {kind: 'address', host: '127.0.0.1', port: gateway.port}, kubeconfig}, {events, env: {}, execStderr: null, interactive: false});
    const session = await TunnelSession.start({sources: [source], events, listen: {port: 0, host: '127.0.0.1'}}, 'all');
    sessions.push(session);
    return {port: session.port, connections: () => connections};
  }

  /** Runs the Java consumer against `port` (asynchronously: the laptop and gateway answer in this process). */
  async function java(port: number, args: readonly string[]): Promise<JavaAnswer[]> {
    const child = spawn('java', [...ADD_OPENS, '-cp', `${classes}${path.delimiter}${HESSIAN_JAR}`, 'com.example.JavaConsumer', '127.0.0.1', String(port), ...args], {stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, `the Java consumer failed:\n${stderr}\n${stdout}`);
    return stdout.trim().split('\n').map((line) => JSON.parse(line) as JavaAnswer);
  }

  test('calls to two applications, interleaved on one connection, each answered by its own provider', async () => {
    const alice = await laptop('alice');
    const userBefore = user.received.length;
    const payBefore = pay.received.length;
    const calls = ['user-rpc/string', 'pay-rpc/string', 'user-rpc/map', 'pay-rpc/pojo', 'user-rpc/pojo', 'pay-rpc/map', 'user-rpc/string', 'pay-rpc/string'];
    const answers = await java(alice.port, calls);
    assert.equal(alice.connections(), 1, 'every call on one consumer connection');
    assert.deepEqual(answers.map((answer) => answer.call), calls, 'one answer per call, in request order');
    for (const answer of answers) {
      const application = answer.call.split('/')[0] ?? '';
      assert.equal(answer.status, 20, JSON.stringify(answer));
      assert.equal(answer.flag, 4, 'a value with attachments, as DecodeableRpcResult reads it');
      assert.equal(answer.attachments?.['answered-by'], application, `call ${answer.id} answered by ${application}`);
    }
    assert.deepEqual(answers.map((answer) => answer.value), [
      'user-rpc:getUser:u-1',
      'pay-rpc:getUser:u-2',
      'user-rpc:findUsers:{"city":"Hangzhou","limit":3}',
      'pay-rpc:saveUser:{"id":"u-4","name":"Li Lei","age":30}',
      'user-rpc:saveUser:{"id":"u-5","name":"Li Lei","age":30}',
      'pay-rpc:findUsers:{"city":"Hangzhou","limit":3}',
      'user-rpc:getUser:u-7',
      'pay-rpc:getUser:u-8',
    ]);
    const reachedUser = user.received.slice(userBefore);
    const reachedPay = pay.received.slice(payBefore);
    // Pipelined requests may reach a provider in another order (the answers are matched by id).
    const reached = (requests: DecodedRequest[]): string[] => requests.map((request) => `${request.method}:${describeArgument(request.args[0])}`).sort();
    assert.deepEqual(reached(reachedUser), ['findUsers:{"city":"Hangzhou","limit":3}', 'getUser:u-1', 'getUser:u-7', 'saveUser:{"id":"u-5","name":"Li Lei","age":30}']);
    assert.deepEqual(reached(reachedPay), ['findUsers:{"city":"Hangzhou","limit":3}', 'getUser:u-2', 'getUser:u-8', 'saveUser:{"id":"u-4","name":"Li Lei","age":30}']);
    for (const request of [...reachedUser, ...reachedPay]) {
      assert.equal(request.dubboVersion, '2.0.2');
      assert.equal(request.service, 'com.example.UserService');
      assert.equal(request.attachments['authorization'], undefined, 'no token travels past the gateway');
    }
    assert.equal(reachedPay.find((request) => request.method === 'saveUser')?.parameterTypes, 'Lcom/example/JavaConsumer$User;');
  });

  test('an application the developer is denied, and an unknown one: coded errors the Java side reads as Dubbo error statuses', async () => {
    const bob = await laptop('bob');
    const payBefore = pay.received.length;
    const [allowed, denied, unknown] = await java(bob.port, ['user-rpc/string', 'pay-rpc/string', 'stock-rpc/map']);
    assert.equal(allowed?.value, 'user-rpc:getUser:u-1', 'bob still reaches the namespace he may use, on the same connection');
    // bob's laptop never offers what the gateway's catalog withholds from him.
    assert.equal(denied?.status, 60, JSON.stringify(denied));
    assert.match(denied?.error ?? '', /^dubbo-tunnel \[DT_ERR_NO_ROUTE\]: /);
    assert.match(denied?.error ?? '', /'pay-rpc', which is not a routed application; known applications: user-rpc/);
    assert.equal(unknown?.status, 60, JSON.stringify(unknown));
    assert.match(unknown?.error ?? '', /^dubbo-tunnel \[DT_ERR_NO_ROUTE\]: /);
    assert.match(unknown?.error ?? '', /'stock-rpc', which is not a routed application/);
    assert.equal(pay.received.length, payBefore, 'nothing reached pay-rpc');
  });

  test('at the gateway itself: refused without a hello, and a denied namespace answered DT_ERR_GATEWAY_FORBIDDEN naming the permission', async () => {
    const payBefore = pay.received.length;
    const [anonymous] = await java(gateway.port, ['user-rpc/string']);
    assert.equal(anonymous?.status, 70, JSON.stringify(anonymous));
    assert.match(anonymous?.error ?? '', /^dubbo-tunnel \[DT_ERR_GATEWAY_UNAUTHENTICATED\]: .*sent no hello/);
    const [hello, allowed, denied] = await java(gateway.port, ['--hello', TOKENS.bob, 'user-rpc/pojo', 'pay-rpc/string']);
    assert.equal(hello?.status, 20, JSON.stringify(hello));
    assert.equal((JSON.parse(hello?.value ?? '{}') as {user?: string}).user, 'bob');
    assert.equal(allowed?.value, 'user-rpc:saveUser:{"id":"u-2","name":"Li Lei","age":30}');
    assert.equal(denied?.status, 70, JSON.stringify(denied));
    assert.match(denied?.error ?? '', /^dubbo-tunnel \[DT_ERR_GATEWAY_FORBIDDEN\]: /);
    assert.match(denied?.error ?? '', /get services in namespace billing/);
    assert.match(denied?.error ?? '', /kubectl auth can-i get services -n billing/);
    assert.equal(pay.received.length, payBefore, 'nothing reached pay-rpc');
    assert.ok(!JSON.stringify([anonymous, hello, allowed, denied]).includes(TOKENS.bob), 'the token never comes back');
  });
});
