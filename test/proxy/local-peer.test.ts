import assert from 'node:assert/strict';
import type os from 'node:os';
import {describe, test} from 'node:test';
import {LocalPeerPolicy, consumerFacingAddresses, isLocalPeer, machineAddresses, normalizeAddress} from '../../src/proxy/local-peer.js';
import {TestProvider} from '../support/dubbo-peers.js';
import {request, startTunnel} from './harness.js';

const LAPTOP: NodeJS.Dict<os.NetworkInterfaceInfo[]> = {
  lo: [
    {address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8'},
    {address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0},
  ],
  wlan0: [
    {address: '192.168.1.23', netmask: '255.255.255.0', family: 'IPv4', mac: 'aa:bb:cc:dd:ee:ff', internal: false, cidr: '192.168.1.23/24'},
    {address: 'fe80::1c2b:3aff:fe4d:5e6f', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: 'aa:bb:cc:dd:ee:ff', internal: false, cidr: 'fe80::1c2b:3aff:fe4d:5e6f/64', scopeid: 3},
  ],
};

describe('local-peer rule', () => {
  const local = machineAddresses(LAPTOP);

  test('loopback and this machine\'s own addresses are local, in every notation', () => {
    for (const peer of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1', '192.168.1.23', '::ffff:192.168.1.23', 'FE80::1C2B:3AFF:FE4D:5E6F%wlan0']) {
      assert.equal(isLocalPeer(peer, local), true, peer);
    }
  });

  test('other machines on the LAN, containers and the internet are not', () => {
    for (const peer of ['192.168.1.24', '::ffff:192.168.1.24', '10.0.0.5', '172.17.0.2', '8.8.8.8', 'fe80::1', undefined]) {
      assert.equal(isLocalPeer(peer, local), false, String(peer));
    }
  });

  test('normalizeAddress strips IPv4-mapped prefixes and zone ids', () => {
    assert.equal(normalizeAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(normalizeAddress('fe80::1%eth0'), 'fe80::1');
  });

  test('a Java consumer\'s rewritten address (the first non-loopback IPv4) is what we show', () => {
    assert.deepEqual(consumerFacingAddresses(LAPTOP), ['192.168.1.23']);
  });

  test('the policy notices an address that appeared after it cached the list (DHCP, VPN)', () => {
    let interfaces = ['192.168.1.23'];
    const policy = new LocalPeerPolicy(() => new Set(interfaces), 60_000);
    assert.equal(policy.allows('192.168.1.23'), true);
    interfaces = ['10.8.0.2'];
    assert.equal(policy.allows('10.8.0.2'), true);
    assert.equal(policy.allows('10.8.0.3'), false);
  });
});

describe('the listener applies the rule', () => {
  test('a peer the policy does not recognise is refused with an event; allow-remote lets it in', async () => {
    const user = await TestProvider.start({application: 'user-rpc'});
    // Pretend loopback is a foreign network: the only "local" address is one we never use.
    const strangers = new LocalPeerPolicy(() => new Set(['203.0.113.9']));
    Object.defineProperty(strangers, 'allows', {value: () => false});
    const refused: string[] = [];
    const tunnel = await startTunnel([user], {peerPolicy: strangers});
    tunnel.events.on('connection-refused', (event) => refused.push(event.reason));
    try {
      const consumer = await tunnel.consumer();
      await consumer.waitForClose();
      assert.equal(refused.length, 1);
      assert.match(refused[0] ?? '', /--allow-remote/);
    } finally {
      await tunnel.close();
    }
    const open = await startTunnel([user], {peerPolicy: strangers, allowRemote: true});
    try {
      const consumer = await open.consumer();
      const answer = await consumer.call(request('user-rpc'));
      assert.equal(answer.kind, 'value');
    } finally {
      await open.close();
      await user.close();
    }
  });
});
