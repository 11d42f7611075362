// A call a Java provider answers with an exception (status OK, body flag RESPONSE_WITH_EXCEPTION) is a
// failed call: the consumer gets the provider's bytes unchanged, and request-completed says ok=false.
// The provider is a real TCP peer answering with the body a Java provider wrote (test/fixtures/java-hessian).
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import net from 'node:net';
import {after, before, describe, test} from 'node:test';
import {EXCEPTION_STATUS_NAME} from '../../src/proxy/completion.js';
import {answersWithException} from '../../src/protocol/responses.js';
import {readHeader} from '../../src/protocol/header.js';
import {encodeFrame, encodeResponseBody, WireReader} from '../support/dubbo-wire.js';
import {waitFor} from '../support/wait.js';
import {request, startTunnel} from './harness.js';
import type {Tunnel} from './harness.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/java-hessian/${name}`, import.meta.url));
const EXCEPTION_BODY = fixture('resp-exception-attachments.bin');
const VALUE_BODY = fixture('resp-value-attachments.bin');
/** Over STREAM_ANSWERS_FROM, so the tunnel passes it on as it arrives instead of holding it whole. */
const LARGE_EXCEPTION_BODY = encodeResponseBody({result: {kind: 'exception', exception: 'x'.repeat(100_000)}, attachments: {dubbo: '2.0.2'}});

/**
 * Answers every request with status OK and the body its method names (`fail`: the exception), as
 * one write, or with the header and the body's first byte apart so the answer reaches the tunnel
 * in pieces (`split` methods); `failLarge` is an exception answer large enough to be streamed.
 */
async function startRawProvider(): Promise<{application: string; port: number; close(): Promise<void>}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const reader = new WireReader();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        if (!frame.isRequest || frame.event) continue;
        const text = frame.body.toString('latin1');
        const body = text.includes('failLarge') ? LARGE_EXCEPTION_BODY : text.includes('fail') ? EXCEPTION_BODY : VALUE_BODY;
        const answer = encodeFrame({id: frame.id, flags: 0x02, status: 20, body});
        if (!text.includes('split')) {
          socket.write(answer);
          continue;
        }
        socket.write(answer.subarray(0, 16));
        setTimeout(() => socket.write(answer.subarray(16, 17)), 20);
        setTimeout(() => socket.write(answer.subarray(17)), 40);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    application: 'user-rpc',
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('an OK answer carrying a Java exception', () => {
  let provider: Awaited<ReturnType<typeof startRawProvider>>;
  let tunnel: Tunnel;
  before(async () => {
    provider = await startRawProvider();
    tunnel = await startTunnel([{application: provider.application, port: provider.port} as never]);
  });
  after(async () => {
    await tunnel.close();
    await provider.close();
  });

  for (const method of ['fail', 'failSplit', 'failLargeSplit']) {
    test(`${method}: delivered unchanged, completed as a failed call (statusName ${EXCEPTION_STATUS_NAME})`, async () => {
      const consumer = await tunnel.consumer();
      tunnel.completed.length = 0;
      const answer = await consumer.call(request('user-rpc', method));
      assert.equal(answer.kind, 'exception', 'the consumer reads the provider\'s exception');
      await waitFor(() => tunnel.completed.length === 1);
      const [completed] = tunnel.completed;
      assert.equal(completed?.status, 20);
      assert.equal(completed.statusName, EXCEPTION_STATUS_NAME);
      assert.equal(completed.ok, false);
      assert.equal(completed.error, undefined, 'the provider answered: dubbo-tunnel has no error of its own to add');
    });
  }

  for (const method of ['getUser', 'getUserSplit']) {
    test(`${method}: a value is still a good call`, async () => {
      const consumer = await tunnel.consumer();
      tunnel.completed.length = 0;
      const answer = await consumer.call(request('user-rpc', method));
      assert.equal(answer.kind, 'value');
      await waitFor(() => tunnel.completed.length === 1);
      assert.equal(tunnel.completed[0]?.ok, true);
      assert.equal(tunnel.completed[0]?.statusName, 'OK');
    });
  }
});

test('answersWithException reads the first body byte, whole or in pieces, and only for OK hessian2 answers', () => {
  const frame = encodeFrame({id: 1n, flags: 0x02, status: 20, body: EXCEPTION_BODY});
  const header = readHeader(frame);
  assert.equal(answersWithException(header, frame), true);
  assert.equal(answersWithException(header, [frame.subarray(0, 10), frame.subarray(10, 16), frame.subarray(16)]), true);
  assert.equal(answersWithException(header, [frame.subarray(0, 16), frame.subarray(16, 16), frame.subarray(16)]), true);
  // Flag 0 (0x90) is the exception without attachments.
  const plain = encodeFrame({id: 1n, flags: 0x02, status: 20, body: Buffer.from([0x90, 0x4e])});
  assert.equal(answersWithException(readHeader(plain), plain), true);
  const value = encodeFrame({id: 1n, flags: 0x02, status: 20, body: VALUE_BODY});
  assert.equal(answersWithException(readHeader(value), value), false);
  const error = encodeFrame({id: 1n, flags: 0x02, status: 70, body: Buffer.from([0x90])});
  assert.equal(answersWithException(readHeader(error), error), false, 'a non-OK status is a failure by its status already');
  const otherSerialization = encodeFrame({id: 1n, flags: 0x06, status: 20, body: Buffer.from([0x90])});
  assert.equal(answersWithException(readHeader(otherSerialization), otherSerialization), false);
});
