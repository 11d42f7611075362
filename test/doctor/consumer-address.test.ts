// Where a Java consumer told localhost connects (NetUtils.filterLocalHost) and whether the listener
// takes it, on made-up machines (no sockets: the interfaces and the host name are given).
import assert from 'node:assert/strict';
import type os from 'node:os';
import {test} from 'node:test';
import {runDoctor} from '../../src/doctor/checks.js';
import {judgeConsumerAddress} from '../../src/doctor/consumer-address.js';
import type {NetworkFacts} from '../../src/doctor/consumer-address.js';

function nic(address: string, internal = false): os.NetworkInterfaceInfo {
  const family = address.includes(':') ? 'IPv6' : 'IPv4';
  return {address, netmask: family === 'IPv4' ? '255.255.255.0' : 'ffff:ffff:ffff:ffff::', family, mac: '02:00:00:00:00:01', internal, cidr: null} as os.NetworkInterfaceInfo;
}

const LAPTOP: NetworkFacts = {
  hostname: 'laptop',
  // Debian's /etc/hosts maps the host name to 127.0.1.1: loopback, so Dubbo walks the interfaces.
  hostnameAddress: '127.0.1.1',
  interfaces: {lo: [nic('127.0.0.1', true), nic('::1', true)], wlan0: [nic('192.168.1.23'), nic('fe80::1')], docker0: [nic('172.17.0.1')]},
};

test('the host name resolves to loopback: the first LAN address, accepted by the default listener', () => {
  const verdict = judgeConsumerAddress(LAPTOP, {});
  assert.equal(verdict.status, 'ok');
  assert.equal(verdict.javaAddress, '192.168.1.23');
  assert.equal(verdict.summary, 'Java consumers told localhost connect to 192.168.1.23; the listener (all addresses, local peers only) accepts it');
  assert.deepEqual(verdict.details, [
    'why: the host name laptop resolves to 127.0.1.1 (loopback), so Dubbo takes the first LAN address',
    '192.168.1.23 (wlan0): accepted <- Java consumers told localhost',
    '172.17.0.1 (docker0): accepted',
  ]);
});

test('--host 127.0.0.1 shuts the Java consumer out', () => {
  const verdict = judgeConsumerAddress(LAPTOP, {host: '127.0.0.1'});
  assert.equal(verdict.status, 'fail');
  assert.equal(verdict.problem, 'host-excludes');
  assert.equal(verdict.summary, 'Java consumers told localhost connect to 192.168.1.23, but the listener on --host 127.0.0.1 does not accept connections there');
  assert.match(verdict.fix ?? '', /^leave --host out .* or give consumers dubbo:\/\/192\.168\.1\.23:<port> instead of localhost$/);
});

test('--host on the Java address works, but another LAN address would be refused: a warning', () => {
  const verdict = judgeConsumerAddress(LAPTOP, {host: '192.168.1.23'});
  assert.equal(verdict.status, 'warn');
  assert.equal(verdict.problem, 'other-address');
  assert.equal(verdict.summary, 'Java consumers told localhost connect to 192.168.1.23: accepted, but 172.17.0.1 would not be');
});

test('a host name that resolves to an address of no interface here: fail, fix /etc/hosts', () => {
  const verdict = judgeConsumerAddress({...LAPTOP, hostnameAddress: '10.9.9.9'}, {});
  assert.equal(verdict.status, 'fail');
  assert.equal(verdict.problem, 'hostname-elsewhere');
  assert.equal(verdict.javaAddress, '10.9.9.9');
  assert.match(verdict.summary, /^the host name laptop resolves to 10\.9\.9\.9, which is not an address of this machine/);
});

test('a host name that resolves to a LAN address of this machine: that address (InetAddress.getLocalHost first)', () => {
  const verdict = judgeConsumerAddress({...LAPTOP, hostnameAddress: '172.17.0.1'}, {});
  assert.equal(verdict.status, 'ok');
  assert.equal(verdict.javaAddress, '172.17.0.1');
  assert.equal(verdict.details[0], 'why: the host name laptop resolves to it (InetAddress.getLocalHost)');
});

test('no LAN address: Dubbo keeps 127.0.0.1, which is always accepted', () => {
  const verdict = judgeConsumerAddress({hostname: 'box', hostnameAddress: undefined, interfaces: {lo: [nic('127.0.0.1', true)]}}, {host: '127.0.0.1'});
  assert.equal(verdict.status, 'ok');
  assert.equal(verdict.javaAddress, '127.0.0.1');
  assert.equal(verdict.details[0], 'why: this machine has no LAN address, so Dubbo keeps 127.0.0.1');
});

test('the Node.js check fails below 20.19 and names the fix', async () => {
  const [old] = await runDoctor({kube: {}, port: 1, env: {}, execStderr: null, interactive: false, only: ['node'], nodeVersion: '20.18.3'});
  assert.equal(old?.status, 'fail');
  assert.equal(old?.summary, 'v20.18.3 is older than 20.19');
  assert.match(old?.fix ?? '', /install a current Node\.js LTS/);
  const [fine] = await runDoctor({kube: {}, port: 1, env: {}, execStderr: null, interactive: false, only: ['node'], nodeVersion: '22.0.0'});
  assert.equal(fine?.status, 'ok');
});
