// End to end: the local-peer rule against a real second host. A network namespace with a veth
// pair plays "another machine on the LAN" (10.213.7.2), while the veth address in our own
// namespace (10.213.7.1) plays this laptop's LAN address, where a Java consumer told `localhost`
// actually arrives. Needs root and iproute2; skipped otherwise. Traffic stays inside the sandbox.
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import {after, before, describe, test} from 'node:test';
import {TestConsumer, TestProvider} from '../support/dubbo-peers.js';
import {request, startTunnel} from './harness.js';
import type {Tunnel} from './harness.js';

const NS = `dt-test-${process.pid}`;
const HOST_SIDE = `dth${process.pid % 100000}`;
const NS_SIDE = `dtn${process.pid % 100000}`;
const HOST_ADDRESS = '10.213.7.1';
const OTHER_MACHINE = '10.213.7.2';

function ip(...args: string[]): void {
  execFileSync('ip', args, {stdio: 'pipe'});
}

function canUseNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  try {
    execFileSync('ip', ['-V'], {stdio: 'pipe'});
  } catch {
    return 'needs iproute2 (ip)';
  }
  return undefined;
}

const skip = canUseNetns();

describe('local-peer rule across a real network namespace', {skip}, () => {
  let provider: TestProvider;
  let tunnel: Tunnel;

  before(async () => {
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_SIDE, 'type', 'veth', 'peer', 'name', NS_SIDE);
    ip('link', 'set', NS_SIDE, 'netns', NS);
    ip('addr', 'add', `${HOST_ADDRESS}/30`, 'dev', HOST_SIDE);
    ip('link', 'set', HOST_SIDE, 'up');
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${OTHER_MACHINE}/30`, 'dev', NS_SIDE);
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_SIDE, 'up');
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    provider = await TestProvider.start({application: 'user-rpc'});
    // Default listening: all of this machine's addresses, local peers only.
    tunnel = await startTunnel([provider], {host: '0.0.0.0'});
  });

  after(async () => {
    await tunnel?.close();
    await provider?.close();
    try {
      ip('link', 'del', HOST_SIDE);
    } catch {
      // already gone with the namespace
    }
    try {
      ip('netns', 'del', NS);
    } catch {
      // never created
    }
  });

  test('a consumer on this machine reaching the LAN address is accepted', async () => {
    const consumer = await TestConsumer.connect(tunnel.server.port, HOST_ADDRESS);
    try {
      const answer = await consumer.call(request('user-rpc'));
      assert.equal(answer.kind === 'value' && answer.value, 'user-rpc:getUser');
    } finally {
      await consumer.close();
    }
  });

  test('a peer on another host is refused and logged', async () => {
    const refused: string[] = [];
    tunnel.events.on('connection-refused', (event) => refused.push(event.peer));
    // A tiny client inside the namespace: connect, send a heartbeat, report what came back.
    const script = `const s=require('net').connect(${tunnel.server.port},'${HOST_ADDRESS}');let got=0;` +
      `s.on('connect',()=>s.write(Buffer.from('dabbe200000000000000000100000001'+'4e','hex')));` +
      `s.on('data',d=>got+=d.length);s.on('error',()=>{});s.on('close',()=>{console.log('closed '+got);process.exit(0)});` +
      `setTimeout(()=>{console.log('open '+got);process.exit(0)},3000);`;
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', script], {stdio: ['ignore', 'pipe', 'pipe']});
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(text.trim()));
    });
    assert.equal(output, 'closed 0', 'the remote peer got no bytes and was disconnected');
    assert.deepEqual(refused.map((peer) => peer.split(':')[0]), [OTHER_MACHINE]);
  });
});
