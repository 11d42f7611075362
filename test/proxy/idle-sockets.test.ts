// IdleSockets finds quiet sockets by their byte counters, checked on an interval, instead of a
// timer per socket that every read and write would re-arm. Driven here by explicit check times.
import assert from 'node:assert/strict';
import net from 'node:net';
import {once} from 'node:events';
import {after, before, test} from 'node:test';
import {performance} from 'node:perf_hooks';
import {IdleSockets} from '../../src/proxy/idle-sockets.js';

let server: net.Server;
const accepted: net.Socket[] = [];

before(async () => {
  server = net.createServer((socket) => {
    accepted.push(socket);
    socket.on('data', (chunk) => socket.write(chunk));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
after(() => {
  for (const socket of accepted) socket.destroy();
  server.close();
});

async function pair(): Promise<{client: net.Socket; serverSide: net.Socket}> {
  const count = accepted.length;
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  while (accepted.length === count) await new Promise((resolve) => setImmediate(resolve));
  return {client, serverSide: accepted[accepted.length - 1] as net.Socket};
}

async function echo(client: net.Socket): Promise<void> {
  client.write('ping');
  await once(client, 'data');
}

test('a quiet socket is reported once the timeout passed; traffic either way starts the wait over', async () => {
  const idle = new IdleSockets(60_000);
  const {client, serverSide} = await pair();
  const reported: string[] = [];
  idle.watch(serverSide, () => {
    reported.push('idle');
    return true;
  });
  // Whole milliseconds, so that the sums below are exact.
  const t0 = Math.ceil(performance.now());
  try {
    idle.check(t0 + 59_000);
    assert.deepEqual(reported, [], 'not before the timeout');
    await echo(client); // the server side read and wrote
   
    idle.check(t0 + 61_000);
    assert.deepEqual(reported, [], 'bytes moved since the last check: the wait starts over');
    idle.check(t0 + 61_000 + 59_000);
    assert.deepEqual(reported, []);
    idle.check(t0 + 61_000 + 60_000);
    assert.deepEqual(reported, ['idle']);
    idle.check(t0 + 500_000);
    assert.deepEqual(reported, ['idle'], 'a socket reported as closed is let go of');
  } finally {
    idle.close();
    client.destroy();
  }
});

test('a connection still owed something is asked again at each check until it closes', async () => {
  const idle = new IdleSockets(1000);
  const {client, serverSide} = await pair();
  let owed = true;
  let asked = 0;
  idle.watch(serverSide, () => {
    asked++;
    return !owed;
  });
  // Whole milliseconds, so that the sums below are exact.
  const t0 = Math.ceil(performance.now());
  try {
    idle.check(t0 + 1000);
    idle.check(t0 + 2000);
    assert.equal(asked, 2);
    owed = false;
    idle.check(t0 + 3000);
    idle.check(t0 + 4000);
    assert.equal(asked, 3, 'once it closed, it is not asked again');
  } finally {
    idle.close();
    client.destroy();
  }
});

test('unwatched sockets are never reported; the interval checks on its own', async () => {
  const idle = new IdleSockets(40);
  const {client, serverSide} = await pair();
  const other = await pair();
  let reported = 0;
  idle.watch(serverSide, () => {
    reported++;
    return true;
  });
  let otherReported = 0;
  idle.watch(other.serverSide, () => {
    otherReported++;
    return true;
  });
  idle.unwatch(other.serverSide);
  try {
    const deadline = Date.now() + 5000;
    while (reported === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(reported, 1, 'the interval found the quiet socket');
    assert.equal(otherReported, 0);
  } finally {
    idle.close();
    client.destroy();
    other.client.destroy();
  }
});
