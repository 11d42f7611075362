/**
 * The HTTP/1.1 side of a call on the port, on node's request and response objects: the body read
 * within the payload limit, the content type, the answer written, and what a request that is not a
 * call is told.
 */
import type {IncomingMessage, ServerResponse} from 'node:http';
import type {HttpAnswer} from './http-answers.js';

export function contentTypeOf(request: IncomingMessage): string | undefined {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}

export const TOO_LARGE = Symbol('too large');

/**
 * The body as text, or TOO_LARGE once it passes `limit` bytes (the rest is read and dropped, so
 * the client gets the 413 instead of a reset while it still sends).
 */
export function readBody(request: IncomingMessage, limit: number): Promise<string | typeof TOO_LARGE> {
  const declared = Number(request.headers['content-length'] ?? 0);
  return new Promise((resolve, reject) => {
    if (declared > limit) {
      request.resume();
      resolve(TOO_LARGE);
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      if (length > limit) return;
      length += chunk.length;
      if (length > limit) {
        chunks.length = 0;
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks, length).toString('utf8')));
    request.on('error', reject);
  });
}

/** What the port says to an HTTP request that is not a call: what it speaks, and the URL form that works. */
export function notACall(request: IncomingMessage, response: ServerResponse, callPath: boolean): void {
  // Likely a browser or a mistyped URL: told once, then let go (as a Dubbo connection that sent HTTP is).
  response.shouldKeepAlive = false;
  const usage = 'This port speaks the Dubbo protocol (dubbo://) and Triple, and answers HTTP calls as JSON: '
    + 'POST /<application>/<interface>/<method> (or POST /<interface>/<method>) with a JSON array of arguments, '
    + `e.g. curl -d '["42"]' localhost:20880/user-rpc/com.example.UserService/getUser\n`;
  if (callPath) {
    response.setHeader('Allow', 'POST');
    send(response, {status: 405, text: `${request.method ?? '?'} is not a call. ${usage}`});
    return;
  }
  send(response, {status: 404, text: `${request.url ?? '/'} names no call. ${usage}`});
}

export function send(response: ServerResponse, answer: HttpAnswer): void {
  if (response.headersSent || response.destroyed) return;
  const plain = 'text' in answer;
  const text = plain ? answer.text : `${JSON.stringify(answer.body)}\n`;
  response.writeHead(answer.status, {
    'Content-Type': plain ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}
