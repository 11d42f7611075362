// End-to-end: the REAL binary (`node bin/dubbo-tunnel.js up`) in a real terminal (an isolated tmux
// server), against the fake Kubernetes API server and real Dubbo providers. A person's session in
// keystrokes: pick two applications, watch them become ready, send traffic, see it counted, quit,
// and check the port is closed afterwards.
//
// Needs tmux (Debian: `apt-get install -y tmux`); without it the test is skipped with a message.
// Builds dist/ first when it is missing or older than src/ (the binary runs the bundle, dist/cli.js).
import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {waitFor} from '../support/wait.js';
import {ROOT, canConnect, ensureBuilt, freePort} from '../support/binary.js';
import {TmuxTerminal, tmuxAvailable} from '../support/tmux.js';

const COLUMNS = 100;
const ROWS = 30;

const skip = tmuxAvailable() ? false : 'tmux is not installed (apt-get install -y tmux); skipping the terminal end-to-end test';

describe('dubbo-tunnel up in a real terminal (tmux)', () => {
  let dir: string;
  let api: FakeKubeApi;
  let providers: TestProvider[] = [];
  const terminals: TmuxTerminal[] = [];
  let port: number;
  let configDir: string;
  const captures: Record<string, string> = {};

  let kubeconfig: string;
  let runs = 0;

  /** Starts `up` in a fresh tmux server; returns the terminal and the file its exit code lands in. */
  function launch(): {terminal: TmuxTerminal; exitFile: string} {
    runs++;
    const exitFile = join(dir, `exit-code-${runs}`);
    const script = join(dir, `run-${runs}.sh`);
    // CI=false: ink renders only the last frame when CI is set, and CI runs this test with CI=true.
    writeFileSync(script, [
      'export CI=false',
      `export DUBBO_TUNNEL_CONFIG_DIR='${configDir}'`,
      'unset DUBBO_TUNNEL_PORT DUBBO_TUNNEL_HOST DUBBO_TUNNEL_SOURCE DUBBO_TUNNEL_LOG_LEVEL',
      `cd '${ROOT}'`,
      `node bin/dubbo-tunnel.js up --kubeconfig '${kubeconfig}' --port ${port}`,
      `echo $? > '${exitFile}'`,
      '',
    ].join('\n'));
    chmodSync(script, 0o755);
    const started = new TmuxTerminal(script, {columns: COLUMNS, rows: ROWS});
    terminals.push(started);
    started.start();
    return {terminal: started, exitFile};
  }

  async function exitCode(exitFile: string): Promise<string> {
    await waitFor(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', {timeoutMs: 15_000, message: 'the process exits'});
    return readFileSync(exitFile, 'utf8').trim();
  }

  function call(consumer: TestConsumer, application: string, method: string) {
    return consumer.call({
      service: 'com.example.DemoService',
      method,
      parameterTypes: 'Ljava/lang/String;',
      args: ['e2e'],
      attachments: {'target-application': application},
    });
  }

  before(async () => {
    if (skip !== false) return;
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'dubbo-tunnel-e2e-'));
    configDir = join(dir, 'config');
    providers = await Promise.all(['user-rpc', 'order-rpc', 'pay-rpc'].map((application) => TestProvider.start({application})));
    api = await FakeKubeApi.start();
    for (const provider of providers) {
      api.addDubboApp({
        name: provider.application,
        ingress: provider.application !== 'pay-rpc',
        pods: [{name: `${provider.application}-7d9f8-x2x9z`, target: {host: '127.0.0.1', port: provider.port}}],
      });
    }
    kubeconfig = api.writeKubeconfig(dir, {context: 'kind-dev', namespace: 'default'});
    port = await freePort();
  });

  after(async () => {
    for (const terminal of terminals) terminal.kill();
    await api?.stop();
    await Promise.all(providers.map((provider) => provider.close()));
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
    if (Object.keys(captures).length > 0 && process.env['DUBBO_TUNNEL_E2E_CAPTURES'] !== undefined) {
      writeFileSync(process.env['DUBBO_TUNNEL_E2E_CAPTURES'], Object.entries(captures).map(([name, text]) => `## ${name}\n\n${text}\n`).join('\n'));
    }
  });

  // The providers also get the requests with which up learns what they export (its own connection);
  // only the consumer's calls count here.
  const demoCalls = (provider: TestProvider | undefined): number => provider?.received.filter((request) => request.service === 'com.example.DemoService').length ?? 0;

  it('picks two applications by keys, shows them ready, counts requests, and closes the port on q', {skip}, async () => {
    const {terminal: screen, exitFile} = launch();
    let text = await screen.waitFor((s) => s.includes('user-rpc') && s.includes('order-rpc') && s.includes('pay-rpc'), 'the picker lists the three applications');
    assert.match(text, /Pick applications to route · context kind-dev · namespace default/);
    assert.match(text, /0 of 3 selected/);
    captures['picker'] = text.trimEnd();

    // Type to filter, toggle the one match, clear the filter; twice.
    screen.type('user');
    await screen.waitFor((s) => s.includes('filter: user') && !s.includes('order-rpc'), 'filtered to user-rpc');
    screen.keys('Space');
    await screen.waitFor((s) => s.includes('1 of 3 selected'), 'user-rpc checked');
    screen.keys('Escape');
    await screen.waitFor((s) => s.includes('type to filter') && s.includes('pay-rpc'), 'filter cleared');
    screen.type('order');
    await screen.waitFor((s) => s.includes('filter: order') && !s.includes('pay-rpc'), 'filtered to order-rpc');
    screen.keys('Space');
    text = await screen.waitFor((s) => s.includes('2 of 3 selected'), 'order-rpc checked');
    screen.keys('Escape');
    text = await screen.waitFor((s) => s.includes('type to filter') && s.includes('pay-rpc'), 'both checked, filter cleared');
    assert.match(text, /\[x\]\s+user-rpc/);
    assert.match(text, /\[x\]\s+order-rpc/);
    assert.match(text, /\[ \]\s+pay-rpc/);
    captures['picker, two selected'] = text.trimEnd();
    screen.keys('Enter');

    text = await screen.waitFor((s) => /^user-rpc\s+● ready/m.test(s) && /^order-rpc\s+● ready/m.test(s), 'both applications ready');
    assert.match(text, new RegExp(`listening dubbo://[^ ]+:${port}`));
    assert.doesNotMatch(text, /^pay-rpc/m, 'pay-rpc was not picked');

    const consumer = await TestConsumer.connect(port);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await call(consumer, 'user-rpc', 'getUser')).status, 20);
      for (let i = 0; i < 2; i++) assert.equal((await call(consumer, 'order-rpc', 'placeOrder')).status, 20);
      text = await screen.waitFor((s) => /^user-rpc\s+● ready\s+\S+\s+3\s+0\s/m.test(s) && /^order-rpc\s+● ready\s+\S+\s+2\s+0\s/m.test(s), 'the counts move');
      assert.match(text, /5 requests · 0 errors · 1 consumer connected/);
      assert.match(text, /user-rpc com\.example\.DemoService#getUser OK/);
      assert.match(text, /order-rpc com\.example\.DemoService#placeOrder OK/);
      assert.equal(demoCalls(providers[0]), 3);
      assert.equal(demoCalls(providers[1]), 2);
      captures['dashboard'] = text.trimEnd();
    } finally {
      await consumer.close();
    }

    screen.keys('q');
    assert.equal(await exitCode(exitFile), '0');
    assert.equal(await canConnect(port, '127.0.0.1'), false, 'nothing listens on the port any more');
    assert.equal(api.portForwardCount(), 0, 'no port-forward left open');

    // The choice was remembered for this context and namespace.
    const saved = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as {selections?: Record<string, string[]>};
    assert.deepEqual([...(saved.selections?.['kind-dev/default'] ?? [])].sort(), ['order-rpc', 'user-rpc']);
  });

  it('preselects the remembered choice next time; p adds an application without restarting; ctrl-c stops', {skip}, async () => {
    const {terminal: screen, exitFile} = launch();
    let text = await screen.waitFor((s) => s.includes('2 of 3 selected'), 'the remembered pair is preselected');
    assert.match(text, /\[x\]\s+order-rpc/);
    assert.match(text, /\[ \]\s+pay-rpc/);
    assert.match(text, /\[x\]\s+user-rpc/);
    screen.keys('Enter');
    await screen.waitFor((s) => /^user-rpc\s+● ready/m.test(s) && /^order-rpc\s+● ready/m.test(s), 'both ready again');

    const consumer = await TestConsumer.connect(port);
    try {
      // pay-rpc is not routed yet: dubbo-tunnel answers with an error instead of a provider.
      assert.notEqual((await call(consumer, 'pay-rpc', 'pay')).status, 20);
      screen.keys('p');
      text = await screen.waitFor((s) => s.includes('Change routed applications') && s.includes('pay-rpc'), 'the picker opens over the running session');
      screen.type('pay');
      await screen.waitFor((s) => s.includes('filter: pay') && !s.includes('user-rpc'), 'filtered to pay-rpc');
      screen.keys('Space', 'Enter');
      text = await screen.waitFor((s) => /^pay-rpc\s+● ready/m.test(s), 'pay-rpc routed');
      assert.match(text, /^user-rpc\s+● ready/m);
      // Same listener, same consumer connection: the port never closed.
      assert.equal((await call(consumer, 'pay-rpc', 'pay')).status, 20);
      assert.equal(demoCalls(providers[2]), 1);
      await screen.waitFor((s) => /^pay-rpc\s+● ready\s+\S+\s+1\s+0\s/m.test(s), 'pay-rpc counted');
    } finally {
      await consumer.close();
    }

    screen.keys('C-c');
    assert.equal(await exitCode(exitFile), '0');
    assert.equal(await canConnect(port, '127.0.0.1'), false, 'nothing listens on the port any more');
    const saved = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as {selections?: Record<string, string[]>};
    assert.deepEqual([...(saved.selections?.['kind-dev/default'] ?? [])].sort(), ['order-rpc', 'pay-rpc', 'user-rpc']);
  });
});
