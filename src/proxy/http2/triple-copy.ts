import type {IncomingHttpHeaders, OutgoingHttpHeaders} from 'node:http2';
import type {CapturedCall} from '../../core/calls.js';
import type {RequestCompleted} from '../../core/events.js';
import {BoundedCopy} from '../call-copy.js';
import type {CallCopy} from '../call-copy.js';

/**
 * What the call inspector is given of one Triple/gRPC stream that started while calls were
 * captured: its path and headers as the consumer sent them, the DATA bytes each way (gRPC
 * length-prefixed messages) up to the capture bound, the response headers and the trailers. The
 * TripleCall fills it in as its streams' events come; nothing of it exists for a stream that
 * started while capture was off.
 */
export class TripleCallCopy implements CallCopy {
  readonly at = Date.now();
  readonly path: string;
  readonly requestHeaders: Readonly<Record<string, string>>;
  /** DATA the consumer sent that was read: a stream answered before it was forwarded has none read. */
  readonly request = new BoundedCopy();
  readonly answer = new BoundedCopy();
  responseHeaders: Readonly<Record<string, string>> | undefined;
  trailers: Readonly<Record<string, string>> | undefined;

  constructor(headers: IncomingHttpHeaders) {
    const path = headers[':path'];
    this.path = typeof path === 'string' ? path : '';
    this.requestHeaders = headerStrings(headers);
  }

  finish(completed: RequestCompleted, origin: 'consumer' | 'http'): CapturedCall {
    return {
      protocol: 'triple',
      at: this.at,
      completed,
      origin,
      path: this.path,
      requestHeaders: this.requestHeaders,
      request: this.request.result(),
      responseHeaders: this.responseHeaders,
      answer: this.answer.result(),
      trailers: this.trailers,
    };
  }
}

/** Header values as strings: a repeated header's values joined the way HTTP joins them (`, `). */
export function headerStrings(headers: IncomingHttpHeaders | OutgoingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}
