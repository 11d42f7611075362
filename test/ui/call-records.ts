// Call records as the inspector writes them, and a CallLogView over a plain array: our own
// interface, implemented here so a test can add calls and count who holds the log open.
import type {CallLogView, CallRecord} from '../../src/inspect/call-record.js';

export class ArrayCallLog implements CallLogView {
  readonly calls: CallRecord[] = [];
  /** How many hold the log open now (capture is on while it is above 0). */
  holders = 0;
  opened = 0;
  readonly #listeners = new Set<() => void>();

  constructor(calls: readonly CallRecord[] = []) {
    this.calls.push(...calls);
  }

  snapshot(): readonly CallRecord[] {
    return [...this.calls];
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  open(): () => void {
    this.holders++;
    this.opened++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
    };
  }

  /** Calls the log says it did not decode (CallLogView.skipped). */
  skippedCalls = 0;

  skipped(): number {
    return this.skippedCalls;
  }

  add(...calls: CallRecord[]): void {
    this.calls.push(...calls);
    for (const listener of this.#listeners) listener();
  }

  /** Says that `count` more calls went undecoded. */
  skip(count: number): void {
    this.skippedCalls += count;
    for (const listener of this.#listeners) listener();
  }
}

/** 2026-12-07 at 14:03:05.120 local time, plus `ms`. */
export function at(ms: number): string {
  return new Date(new Date(2026, 11, 7, 14, 3, 5, 120).getTime() + ms).toISOString();
}

let nextSeq = 1;

/** A successful Dubbo call of UserService#getUser; `overrides` changes any field. */
export function call(overrides: Partial<CallRecord> = {}): CallRecord {
  const seq = overrides.seq ?? nextSeq++;
  return {
    seq,
    at: at(seq * 250),
    protocol: 'dubbo',
    origin: 'consumer',
    connectionId: 3,
    application: 'user-rpc',
    service: 'com.example.UserService',
    version: '1.0.0',
    method: 'getUser',
    parameterTypes: ['java.lang.String'],
    arguments: ['42'],
    attachments: {path: 'com.example.UserService', interface: 'com.example.UserService', version: '1.0.0', 'target-application': 'user-rpc'},
    status: 'OK',
    ok: true,
    latencyMs: 3.2,
    requestBytes: 212,
    answerBytes: 168,
    answer: {kind: 'value', value: {$class: 'com.example.User', id: 42, name: 'Ann Lee', email: 'ann@example.com'}},
    ...overrides,
  };
}

/** A realistic mix: a POJO query, a Java exception, a coded error, a Triple call, binary, HTTP. */
export function sampleCalls(): CallRecord[] {
  return [
    call({seq: 1}),
    call({
      seq: 2, application: 'order-rpc', service: 'com.example.order.OrderService', group: 'eu', version: '2.1', method: 'placeOrder', connectionId: 4,
      parameterTypes: ['com.example.order.OrderRequest'],
      arguments: [{
        $class: 'com.example.order.OrderRequest', customerId: 42,
        lines: [{$class: 'com.example.order.OrderLine', sku: 'BOOK-1', quantity: 2, price: {$class: 'java.math.BigDecimal', $: '12.50'}}],
        express: true, placedAt: {$class: 'java.util.Date', $: '2026-12-07T14:03:05.000Z'}, channel: {$class: 'com.example.order.Channel', name: 'WEB'},
      }],
      attachments: {path: 'com.example.order.OrderService', group: 'eu', version: '2.1', authorization: '<redacted>'},
      status: 'EXCEPTION', ok: false, latencyMs: 18.4, requestBytes: 486, answerBytes: 1310,
      answer: {kind: 'exception', className: 'java.lang.IllegalStateException', message: 'customer 42 has no delivery address'},
    }),
    call({
      seq: 3, application: undefined, service: 'com.example.PayService', version: undefined, method: 'charge', connectionId: 3,
      parameterTypes: ['long'], arguments: [990], attachments: {path: 'com.example.PayService'},
      status: 'SERVICE_NOT_FOUND', ok: false, latencyMs: 0.2, requestBytes: 140, answerBytes: 120,
      answer: {kind: 'error', code: 'DT_ERR_NO_ROUTE', message: 'no application serves com.example.PayService'},
    }),
    call({
      seq: 4, protocol: 'triple', application: 'greeter', service: 'org.example.Greeter', version: undefined, method: 'sayHello', connectionId: 7,
      parameterTypes: [], arguments: [{name: 'dubbo'}], attachments: {},
      status: 'grpc OK', ok: true, latencyMs: 5.6, requestBytes: 18, answerBytes: 24,
      answer: {kind: 'value', value: {message: 'hello dubbo'}},
      triple: {
        path: '/org.example.Greeter/sayHello',
        requestHeaders: {'content-type': 'application/json', 'tri-service-version': '', te: 'trailers'},
        responseHeaders: {'content-type': 'application/json', ':status': '200'},
        trailers: {'grpc-status': '0'},
        grpcStatus: 0, grpcMessage: undefined,
      },
    }),
    call({
      seq: 5, application: 'file-rpc', service: 'com.example.FileService', version: undefined, method: 'read', connectionId: 5, origin: 'http',
      parameterTypes: ['java.lang.String'], arguments: ['/reports/2026-12.pdf'],
      latencyMs: 42, requestBytes: 190, answerBytes: 40_213,
      answer: {kind: 'value', value: {$class: 'byte[]', $: Buffer.from('%PDF-1.7\n%\u00e2\u00e3\u00cf\u00d3\n1 0 obj').toString('base64'), size: 26}},
    }),
    call({seq: 6, arguments: ['43'], latencyMs: 2.9, answer: {kind: 'value', value: {$class: 'com.example.User', id: 43, name: 'Bo Chen', bio: 'x'.repeat(450)}}}),
  ];
}
