// `dubbo-tunnel gateway --namespace-selector` as a process against the fake API server: the
// namespaces whose labels match are discovered, and a namespace joins or leaves the catalog live as
// its labels change, with what is in flight on a leaving namespace still answered.
import assert from 'node:assert/strict';
import type {ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';
import {encodeCatalogRequest, encodeHello, parseCatalog, parseHelloAnswer} from '../../src/gateway/protocol.js';
import {BIN, cleanEnv, ensureBuilt, runProgram} from '../support/binary.js';
import {decodeResponse, encodeRequest, parseFrame} from '../support/dubbo-wire.js';
import {TestProvider} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {startGatewayProcess, type GatewayProcess} from '../support/gateway-process.js';
import {LaptopStream} from '../support/laptop-stream.js';
import {waitFor} from '../support/wait.js';

const TOKENS = {alice: 'alice-selector-token-1', gateway: 'gateway-selector-sa-token-2'};
const LABEL = 'dubbo-tunnel.io/gateway';

describe('dubbo-tunnel gateway --namespace-selector (the process, fake API server)', () => {
  let api: FakeKubeApi;
  let user: TestProvider;
  let pay: TestProvider;
  let child: ChildProcess;
  let gateway: GatewayProcess;
  let port = 0;
  let serviceAccountDir = '';

  function label(namespace: string, value: string | undefined): void {
    api.apply({apiVersion: 'v1', kind: 'Namespace', metadata: {name: namespace, labels: value === undefined ? {} : {[LABEL]: value}}});
  }

  async function catalogOf(laptop: LaptopStream, id: bigint): Promise<string[]> {
    const answer = await laptop.ask(encodeCatalogRequest(id));
    assert.equal(answer.kind, 'value', JSON.stringify(answer));
    return parseCatalog(answer.kind === 'value' ? answer.value : undefined).applications.map((application) => `${application.namespace}/${application.name}`).sort();
  }

  before(async () => {
    ensureBuilt();
    api = await FakeKubeApi.start({
      tls: true,
      users: {[TOKENS.alice]: 'alice', [TOKENS.gateway]: 'system:serviceaccount:dubbo-tunnel:dubbo-tunnel-gateway'},
      namespaces: ['default', 'shop', 'billing', 'dubbo-tunnel'],
    });
    user = await TestProvider.start({application: 'user-rpc', host: '127.0.0.2'});
    pay = await TestProvider.start({
      application: 'pay-rpc', host: '127.0.0.3',
      handler: async (req) => {
        if (req.args[0] === 'slow') await new Promise((resolve) => setTimeout(resolve, 1500));
        return {value: `pay-rpc:${req.method}`};
      },
    });
    api.addDubboApp({namespace: 'shop', name: 'user-rpc', containerPort: user.port, pods: [{name: 'user-rpc-0', podIP: '127.0.0.2'}]});
    api.addDubboApp({namespace: 'billing', name: 'pay-rpc', containerPort: pay.port, pods: [{name: 'pay-rpc-0', podIP: '127.0.0.3'}]});
    label('shop', 'team-a');
    label('billing', 'someone-else');
    serviceAccountDir = mkdtempSync(join(tmpdir(), 'dt-gateway-ns-sa-'));
    const inCluster = api.inClusterEnv(serviceAccountDir, TOKENS.gateway);
    gateway = await startGatewayProcess(['--namespace-selector', `${LABEL}=team-a`, '--no-learn', '--drain-timeout', '3000'], inCluster);
    ({child, port} = gateway);
  });

  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await user.close();
    await pay.close();
    await api.stop();
    rmSync(serviceAccountDir, {recursive: true, force: true});
  });

  test('only the labelled namespace at first; labelling another brings its application in, callable; unlabelling takes it out with the call in flight answered', async () => {
    const laptop = await LaptopStream.connect(port);
    try {
      const hello = await laptop.ask(encodeHello(1n, TOKENS.alice, 'dubbo-tunnel/test'));
      assert.equal(hello.kind, 'value', JSON.stringify(hello));
      assert.deepEqual(parseHelloAnswer(hello.kind === 'value' ? hello.value : undefined).catalog.applications.map((application) => application.name), ['user-rpc']);
      const notYet = await laptop.call(2n, 'pay-rpc');
      assert.equal(notYet.kind, 'error');
      assert.match(notYet.kind === 'error' ? notYet.message : '', /DT_ERR_NO_ROUTE/);
      assert.equal(pay.received.length, 0);

      label('billing', 'team-a');
      await waitFor(async () => (await catalogOf(laptop, 3n)).includes('billing/pay-rpc'), {timeoutMs: 10_000, message: `billing never joined:\n${gateway.output()}`});
      assert.deepEqual(await catalogOf(laptop, 4n), ['billing/pay-rpc', 'shop/user-rpc']);
      const joined = await laptop.call(5n, 'pay-rpc');
      assert.equal(joined.kind === 'value' && joined.value, 'pay-rpc:getUser');
      assert.match(gateway.output(), /namespace billing matches --namespace-selector/);

      // A slow call in flight when the label goes: the provider's answer still arrives.
      laptop.socket.write(encodeRequest({id: 6n, service: 'com.example.UserService', method: 'getUser', parameterTypes: 'Ljava/lang/String;', args: ['slow'], attachments: {'target-application': 'pay-rpc'}}));
      await waitFor(() => pay.received.some((request) => request.args[0] === 'slow'), {timeoutMs: 5000, message: 'the slow call did not arrive'});
      label('billing', undefined);
      const inFlight = decodeResponse(parseFrame(await laptop.frame()));
      assert.equal(inFlight.id, 6n);
      assert.equal(inFlight.kind === 'value' && inFlight.value, 'pay-rpc:getUser');
      await waitFor(async () => !(await catalogOf(laptop, 7n)).includes('billing/pay-rpc'), {timeoutMs: 10_000, message: 'billing never left'});
      assert.deepEqual(await catalogOf(laptop, 8n), ['shop/user-rpc']);
      const gone = await laptop.call(9n, 'pay-rpc');
      assert.match(gone.kind === 'error' ? gone.message : '', /DT_ERR_NO_ROUTE/);
      const stays = await laptop.call(10n, 'user-rpc');
      assert.equal(stays.kind === 'value' && stays.value, 'user-rpc:getUser');
      assert.match(gateway.output(), /namespace billing no longer matches --namespace-selector/);
      assert.equal(api.portForwardsServed, 0, 'pods are dialled by IP');
    } finally {
      laptop.close();
    }
  });

  test('--namespace-selector with -n or -A is a coded usage error', async () => {
    for (const extra of [['-n', 'shop'], ['-A']]) {
      const run = await runProgram([process.execPath, BIN, 'gateway', '--namespace-selector', `${LABEL}=team-a`, ...extra], cleanEnv({CI: 'true'}));
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /DT_ERR_BAD_ARGUMENT.*--namespace-selector cannot be used with/);
    }
  });
});
