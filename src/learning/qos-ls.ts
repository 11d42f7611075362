/**
 * The QoS `ls` command's output (the body of `GET /ls`, and the QoS telnet answer): two ASCII tables,
 * "As Provider side:" (Provider Service Name | PUB) and "As Consumer side:". Cells are centred with spaces.
 * 3.x lists its MetadataService as `DubboInternal - <app>/org.apache.dubbo.metadata.MetadataService:1.0.0`,
 * which names the application. `parseQosLs` is pure; `requestQosLs` asks over one Backend stream.
 */
import http from 'node:http';
import type {IncomingMessage} from 'node:http';
import {Duplex} from 'node:stream';
import {errorMessage} from '../core/errors.js';
import {isInternalService, normalizeServiceKey, parseServiceKey} from '../router/service-key.js';

export interface QosListing {
  readonly keys: string[];
  readonly application: string | undefined;
}

const INTERNAL_PREFIX = 'DubboInternal - ';

/** undefined when the text has no provider table (not an `ls` answer). */
export function parseQosLs(text: string): QosListing | undefined {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((line) => line.trim() === 'As Provider side:');
  if (start < 0) return undefined;
  const keys: string[] = [];
  let application: string | undefined;
  let headerSeen = false;
  for (const raw of lines.slice(start + 1)) {
    const line = raw.trim();
    if (line === 'As Consumer side:') break;
    if (!line.startsWith('|')) continue;
    const cell = (line.split('|')[1] ?? '').trim();
    if (!headerSeen) {
      // The first row is the column header ("Provider Service Name").
      headerSeen = true;
      continue;
    }
    const internal = cell.startsWith(INTERNAL_PREFIX);
    const name = internal ? cell.slice(INTERNAL_PREFIX.length).trim() : cell;
    const key = normalizeServiceKey(name);
    if (key === undefined) continue;
    if (internal || isInternalService(key)) {
      application ??= parseServiceKey(key)?.group;
      continue;
    }
    if (!keys.includes(key)) keys.push(key);
  }
  return {keys, application};
}

export type QosHttpAnswer =
  | {kind: 'listing'; keys: string[]; application: string | undefined}
  /** The server refused us: 2.7's "Foreign Ip Not Permitted.", 3.x's 403. */
  | {kind: 'refused'; message: string}
  | {kind: 'failed'; message: string};

/** Bounds what one answer may hold (real ones are a few hundred bytes per service). */
const MAX_ANSWER = 1024 * 1024;
/** How much of an answer that is not HTTP is read before giving up on finding 2.7's refusal in it. */
const NOT_HTTP_SAMPLE = 64;
/** 2.7 answers a client it does not allow with this plain text (not HTTP), then closes. */
const FOREIGN_IP_REFUSAL = 'Foreign Ip Not Permitted';
const REFUSED_FOREIGN_IP: QosHttpAnswer = {kind: 'refused', message: 'QoS refused a non-local client (Foreign Ip Not Permitted); the provider needs qos-accept-foreign-ip=true'};
const NOT_HTTP: QosHttpAnswer = {kind: 'failed', message: 'the QoS port did not answer in HTTP'};

/**
 * Sends `GET /ls` over `stream` (a Backend stream to the QoS port) and lets node:http read the answer.
 * The server closes after the body, so the end is Content-Length bytes or EOF, whichever comes first.
 * Never rejects; the caller bounds the time and destroys `stream` afterwards.
 */
export function requestQosLs(stream: Duplex, hostHeader: string): Promise<QosHttpAnswer> {
  return new Promise<QosHttpAnswer>((resolve) => {
    let settled = false;
    let received = 0;
    /** What arrived before the response headers parsed: 2.7's refusal is looked for in it. */
    const head: Buffer[] = [];
    let response: IncomingMessage | undefined;
    let notHttp = false;
    let streamEnded = false;
    // node:http destroys its socket on a parse error, and 2.7's refusal is a parse error (it is not
    // HTTP) that may arrive in pieces: http gets a socket of its own, and `stream` stays readable
    // until the refusal is whole.
    const socket = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        stream.write(chunk);
        done();
      },
    });
    const finish = (answer: QosHttpAnswer) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(answer);
    };
    const judgeNotHttp = () => {
      if (Buffer.concat(head).toString('latin1').includes(FOREIGN_IP_REFUSAL)) finish(REFUSED_FOREIGN_IP);
      else if (streamEnded || received >= NOT_HTTP_SAMPLE) finish(NOT_HTTP);
    };
    const onStreamEnd = () => {
      if (streamEnded) return;
      streamEnded = true;
      if (notHttp) judgeNotHttp();
      else if (!settled) socket.push(null);
    };

    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (received > MAX_ANSWER) return finish({kind: 'failed', message: `the QoS answer is over ${MAX_ANSWER} bytes`});
      if (response === undefined) head.push(chunk);
      if (notHttp) judgeNotHttp();
      else socket.push(chunk);
    });
    stream.on('end', onStreamEnd);
    stream.on('close', onStreamEnd);
    stream.on('error', (error) => finish({kind: 'failed', message: errorMessage(error)}));

    const request = http.request({createConnection: () => socket, method: 'GET', path: '/ls', headers: {Host: hostHeader}});
    request.on('response', (answer) => {
      response = answer;
      const body: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => body.push(chunk));
      // Cut short before Content-Length: 'close' still comes, and what arrived is the answer.
      answer.on('error', () => undefined);
      answer.on('close', () => finish(judgeResponse(answer.statusCode ?? 0, Buffer.concat(body).toString('utf8'))));
    });
    request.on('error', (error) => {
      // After the headers the body's 'close' answers (an error then is bytes after the body).
      if (response !== undefined) return;
      if (isParseError(error)) {
        notHttp = true;
        judgeNotHttp();
      } else {
        finish({kind: 'failed', message: received === 0 ? 'the QoS port closed before answering' : 'the QoS answer ended inside its headers'});
      }
    });
    request.end();
  });
}

function judgeResponse(status: number, body: string): QosHttpAnswer {
  if (status === 401 || status === 403) return {kind: 'refused', message: `QoS answered ${status} (the provider does not allow this client; see qos-accept-foreign-ip and qos-anonymous-allow-commands)`};
  if (status !== 200) return {kind: 'failed', message: `QoS answered HTTP ${status}`};
  const listing = parseQosLs(body);
  if (!listing) return {kind: 'failed', message: 'the QoS answer to /ls has no provider table'};
  return {kind: 'listing', ...listing};
}

/** llhttp's errors (`HPE_INVALID_CONSTANT`, `HPE_HEADER_OVERFLOW`, ...): the bytes are not an HTTP answer. */
function isParseError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code.startsWith('HPE_');
}
