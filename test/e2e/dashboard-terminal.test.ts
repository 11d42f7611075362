// In a real terminal (tmux): the REAL binary's dashboard with more applications
// than the terminal has rows keeps its title and addresses on screen, and after `q` the shell
// prompt starts on a line of its own.
import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {TestProvider} from '../support/dubbo-peers.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import {ROOT, ensureBuilt, freePort} from '../support/binary.js';
import {TmuxTerminal, tmuxAvailable} from '../support/tmux.js';

const COLUMNS = 100;
const ROWS = 20;
const APPLICATIONS = 40;
/** What the script prints after the binary exits, where a shell would print its prompt. */
const PROMPT = 'PROMPT$';

const skip = tmuxAvailable() ? false : 'tmux is not installed (apt-get install -y tmux); skipping the terminal end-to-end test';

describe('the dashboard in a real terminal (tmux)', () => {
  let dir: string;
  let api: FakeKubeApi;
  let provider: TestProvider;
  let terminal: TmuxTerminal | undefined;

  before(async () => {
    if (skip !== false) return;
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'dubbo-tunnel-e2e-dashboard-'));
    // Something must listen behind every pod: `up` connects to each application at once (to learn what
    // it exports), and a pod without a target refuses the port-forward, which turns its row to
    // "✖ error" within a few hundred milliseconds of "● ready" (the test then only passed when a
    // capture happened to land in that window). One provider answers for all 40.
    provider = await TestProvider.start({application: 'paged'});
    const target = {host: '127.0.0.1', port: provider.port};
    api = await FakeKubeApi.start();
    for (let i = 1; i <= APPLICATIONS; i++) {
      api.addDubboApp({name: `app-${String(i).padStart(2, '0')}`, ingress: false, pods: [{name: `app-${i}-7d9f8-x2x9z`, target}]});
    }
  });

  after(async () => {
    terminal?.kill();
    await api?.stop();
    await provider?.close();
    if (dir !== undefined) rmSync(dir, {recursive: true, force: true});
  });

  it(`${APPLICATIONS} applications in ${ROWS} rows: title and address stay, the table pages, and the prompt after q starts on a clean line`, {skip}, async () => {
    const kubeconfig = api.writeKubeconfig(dir, {context: 'kind-dev', namespace: 'default'});
    const port = await freePort();
    const script = join(dir, 'run.sh');
    writeFileSync(script, [
      // CI=false: ink renders only the last frame when CI is set.
      'export CI=false',
      `export DUBBO_TUNNEL_CONFIG_DIR='${join(dir, 'config')}'`,
      'unset DUBBO_TUNNEL_PORT DUBBO_TUNNEL_HOST DUBBO_TUNNEL_SOURCE DUBBO_TUNNEL_LOG_LEVEL',
      `cd '${ROOT}'`,
      `node bin/dubbo-tunnel.js up --all --kubeconfig '${kubeconfig}' --port ${port}`,
      // Where an interactive shell would print its prompt: right where the cursor was left.
      `printf '${PROMPT} exit %s' "$?"`,
      '',
    ].join('\n'));
    chmodSync(script, 0o755);
    terminal = new TmuxTerminal(script, {columns: COLUMNS, rows: ROWS});
    terminal.start();

    let screen = await terminal.waitFor((s) => /^app-01\s+● ready/m.test(s) && /rows 1–\d+ of 40/.test(s), 'the dashboard with a paged table');
    const title = /^dubbo-tunnel · context kind-dev · namespace default$/m;
    assert.match(screen, title);
    assert.match(screen, new RegExp(`listening dubbo://\\S+:${port}`));
    assert.match(screen, /^APPLICATION\s+STATE/m);
    assert.doesNotMatch(screen, /✖ error/, 'every pod accepts its port-forward');

    terminal.keys('PageDown');
    screen = await terminal.waitFor((s) => !/rows 1–/.test(s) && /rows \d+–\d+ of 40/.test(s), 'the next page');
    assert.match(screen, title, 'the title is still on screen after paging');
    terminal.keys('End');
    screen = await terminal.waitFor((s) => /^app-40\s/m.test(s), 'the last page');
    assert.match(screen, title);

    terminal.keys('q');
    screen = await terminal.waitFor((s) => s.includes(PROMPT), 'the process exits');
    const promptLine = screen.split('\n').find((line) => line.includes(PROMPT)) ?? '';
    assert.equal(promptLine, `${PROMPT} exit 0`, `the prompt shares a line with the last frame:\n${screen}`);
  });
});
