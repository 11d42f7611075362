// What the stop tests share: a provider whose answers take a while (or never come), a consumer
// that keeps many calls in flight on one connection, and how a consumer recognises the READONLY
// event a Dubbo provider sends when it shuts down gracefully.
import type {TestConsumer} from './dubbo-peers.js';
import {TestProvider} from './dubbo-peers.js';
import type {DecodedResponse, WireFrame} from './dubbo-wire.js';

export const SLOW_SERVICE = 'com.example.Slow';
export const NEVER_SERVICE = 'com.example.Never';

/**
 * slow-rpc: calls to SLOW_SERVICE are answered after `delayMs`, calls to NEVER_SERVICE never; anything
 * else (what the tunnel asks to learn the services) at once.
 */
export function slowProvider(delayMs = 300): Promise<TestProvider> {
  return TestProvider.start({
    application: 'slow-rpc',
    handler: async (request) => {
      if (request.service === NEVER_SERVICE) return {noReply: true};
      if (request.service === SLOW_SERVICE) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return {value: `slow-rpc:${String(request.args[0])}`};
    },
  });
}

/** Calls of `service` that reached the provider. */
export function received(provider: TestProvider, service = SLOW_SERVICE): number {
  return provider.received.filter((request) => request.service === service).length;
}

/**
 * `count` calls in flight at once on the consumer's one connection; each settles as `ok <value>`,
 * `error <text>` (a Dubbo error answer) or `lost: <why>` (no answer: timeout or connection closed).
 */
export function callsInFlight(consumer: TestConsumer, count: number, service = SLOW_SERVICE, timeoutMs = 15_000): Promise<string[]> {
  return Promise.all(Array.from({length: count}, (_, index) =>
    consumer.call({service, method: 'work', parameterTypes: 'Ljava/lang/String;', args: [String(index)], attachments: {'target-application': 'slow-rpc'}}, timeoutMs)
      .then(describeAnswer, (error: unknown) => `lost: ${(error as Error).message}`)));
}

export function describeAnswer(answer: DecodedResponse): string {
  if (answer.kind === 'value') return `ok ${String(answer.value)}`;
  if (answer.kind === 'error') return `error ${answer.message}`;
  return answer.kind;
}

/**
 * READONLY as a Dubbo provider sends it (HeaderExchangeServer.sendChannelReadOnlyEvent): a one-way
 * event request, flags REQUEST|EVENT|hessian2 = 0xa2, body the hessian2 string "R".
 */
export function isReadonlyEvent(frame: WireFrame): boolean {
  return frame.isRequest && frame.event && !frame.twoWay && frame.flags === 0xa2 && frame.body.equals(Buffer.from([0x01, 0x52]));
}

/** Where the READONLY event is among what the consumer received (-1: never), and how many answers came before it. */
export function readonlyPosition(consumer: TestConsumer): {index: number; answersBefore: number} {
  const index = consumer.frames.findIndex(isReadonlyEvent);
  return {index, answersBefore: index < 0 ? 0 : consumer.frames.slice(0, index).filter((frame) => !frame.isRequest).length};
}
