// The listener's admission seam: a check that takes time holds the request and every later one of
// the connection, in order; a refusal is a coded answer and nothing reaches the provider; a reply
// is written as it is; `close` ends the connection after the answer; telnet is not offered.
import assert from 'node:assert/strict';
import net from 'node:net';
import {after, before, describe, test} from 'node:test';
import type {ConnectionAdmission, DubboVerdict} from '../../src/proxy/admission.js';
import {encodeErrorResponse} from '../../src/protocol/responses.js';
import {localAnswer} from '../../src/router/local-answer.js';
import {TestProvider} from '../support/dubbo-peers.js';
import {waitFor} from '../support/wait.js';
import {request, startTunnel} from './harness.js';
import type {Tunnel} from './harness.js';

describe('ConnectionAdmission (the listener asks before it forwards)', () => {
  let user: TestProvider;
  let pay: TestProvider;
  let tunnel: Tunnel;
  /** What the admission sees, in order, and what it says. */
  const seen: string[] = [];
  let gate: {promise: Promise<void>; open: () => void} | undefined;
  let closed = 0;

  before(async () => {
    user = await TestProvider.start({application: 'user-rpc'});
    pay = await TestProvider.start({application: 'pay-rpc'});
    const admission = (): ConnectionAdmission => ({
      privateHeaders: [],
      triple: () => Promise.resolve(undefined),
      closed: () => void closed++,
      dubbo: (_header, _frame, peek, decision): DubboVerdict => {
        const method = peek.readable ? peek.request.method : '?';
        seen.push(method);
        if (method === 'slowCheck' && gate !== undefined) {
          const {promise} = gate;
          gate = undefined;
          return {wait: promise};
        }
        if (decision.forward && decision.backend.application === 'pay-rpc') return {refuse: localAnswer('DT_ERR_GATEWAY_FORBIDDEN', 'not for you'), close: method === 'refuseAndClose'};
        if (method === 'ask') return {reply: encodeErrorResponse(_header.requestId, 70, 'answered by the admission'), status: 70};
        return undefined;
      },
    });
    tunnel = await startTunnel([user, pay], {admission});
  });

  after(async () => {
    await tunnel.close();
    await user.close();
    await pay.close();
  });

  test('a running check holds this request and the later ones, in order; then they go on', async () => {
    let open = (): void => undefined;
    gate = {promise: new Promise<void>((resolve) => (open = resolve)), open: () => open()};
    const consumer = await tunnel.consumer();
    const first = consumer.call({...request('user-rpc', 'slowCheck'), id: 1n});
    const second = consumer.call({...request('user-rpc', 'afterIt'), id: 2n});
    await waitFor(() => seen.includes('slowCheck'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(user.received.length, 0, 'nothing forwarded while the check runs');
    assert.equal(seen.includes('afterIt'), false, 'the later request waits behind it');
    open();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.kind === 'value' && a.value, 'user-rpc:slowCheck');
    assert.equal(b.kind === 'value' && b.value, 'user-rpc:afterIt');
    assert.deepEqual(user.received.map((req) => req.method), ['slowCheck', 'afterIt']);
  });

  test('a refusal is the coded answer and reaches no provider; a reply is written as it is', async () => {
    const consumer = await tunnel.consumer();
    const refused = await consumer.call({...request('pay-rpc'), id: 3n});
    assert.equal(refused.status, 70);
    assert.equal(refused.kind === 'error' && refused.message, 'dubbo-tunnel [DT_ERR_GATEWAY_FORBIDDEN]: not for you');
    assert.equal(pay.received.length, 0);
    const replied = await consumer.call({...request('user-rpc', 'ask'), id: 4n});
    assert.equal(replied.kind === 'error' && replied.message, 'answered by the admission');
    assert.ok(tunnel.completed.some((completed) => completed.code === 'DT_ERR_GATEWAY_FORBIDDEN'), 'the refusal is reported with its code');
  });

  test('close ends the connection after the answer; the admission hears it closed', async () => {
    const before = closed;
    const consumer = await tunnel.consumer();
    const refused = await consumer.call({...request('pay-rpc', 'refuseAndClose'), id: 5n});
    assert.equal(refused.status, 70);
    await waitFor(() => closed === before + 1, {message: 'the admission was not told'});
  });

  test('a telnet line is not offered a shell on a listener with an admission', async () => {
    const socket = net.connect({port: tunnel.server.port, host: '127.0.0.1'});
    socket.on('error', () => undefined);
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('ls\r\n');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    assert.equal(data, '');
  });
});
