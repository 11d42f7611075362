/**
 * The QoS `ls` command's output (the body of `GET /ls`, and the QoS telnet answer): two ASCII tables,
 * "As Provider side:" (Provider Service Name | PUB) and "As Consumer side:". Cells are centred with spaces.
 * 3.x lists its MetadataService as `DubboInternal - <app>/org.apache.dubbo.metadata.MetadataService:1.0.0`,
 * which names the application. Pure.
 */
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

/**
 * Reads the answer to `GET /ls` as it streams in. The server closes after the body; the end is
 * Content-Length bytes or EOF, whichever comes first. `push` returns the answer once it is complete.
 */
export class QosHttpReader {
  readonly #chunks: Buffer[] = [];
  #length = 0;
  #done: QosHttpAnswer | undefined;

  push(chunk: Buffer): QosHttpAnswer | undefined {
    if (this.#done) return this.#done;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (this.#length > MAX_ANSWER) return (this.#done = {kind: 'failed', message: `the QoS answer is over ${MAX_ANSWER} bytes`});
    return this.#tryComplete(false);
  }

  /** The server closed: whatever arrived is the answer. */
  end(): QosHttpAnswer {
    return this.#done ?? this.#tryComplete(true) ?? {kind: 'failed', message: 'the QoS port closed before answering'};
  }

  #tryComplete(eof: boolean): QosHttpAnswer | undefined {
    const data = Buffer.concat(this.#chunks, this.#length);
    const text = data.toString('latin1');
    if (text.includes('Foreign Ip Not Permitted')) {
      return (this.#done = {kind: 'refused', message: 'QoS refused a non-local client (Foreign Ip Not Permitted); the provider needs qos-accept-foreign-ip=true'});
    }
    if (!text.startsWith('HTTP/') && !'HTTP/'.startsWith(text)) {
      if (eof || data.length >= 64) return (this.#done = {kind: 'failed', message: 'the QoS port did not answer in HTTP'});
      return undefined;
    }
    if (!text.startsWith('HTTP/')) return eof ? (this.#done = {kind: 'failed', message: 'the QoS port did not answer in HTTP'}) : undefined;
    const headerEnd = data.indexOf('\r\n\r\n');
    if (headerEnd < 0) return eof ? (this.#done = {kind: 'failed', message: 'the QoS answer ended inside its headers'}) : undefined;
    const head = text.slice(0, headerEnd);
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(head)?.[1] ?? 0);
    const declared = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
    const bodyStart = headerEnd + 4;
    const available = data.length - bodyStart;
    const wanted = declared === undefined ? undefined : Number(declared);
    if (wanted !== undefined && available < wanted && !eof) return undefined;
    if (wanted === undefined && !eof) return undefined;
    const body = data.subarray(bodyStart, wanted === undefined ? data.length : bodyStart + Math.min(wanted, available)).toString('utf8');
    if (status === 401 || status === 403) return (this.#done = {kind: 'refused', message: `QoS answered ${status} (the provider does not allow this client; see qos-accept-foreign-ip and qos-anonymous-allow-commands)`});
    if (status !== 200) return (this.#done = {kind: 'failed', message: `QoS answered HTTP ${status}`});
    const listing = parseQosLs(body);
    if (!listing) return (this.#done = {kind: 'failed', message: 'the QoS answer to /ls has no provider table'});
    return (this.#done = {kind: 'listing', ...listing});
  }
}

/** The request we send (a plain HTTP/1.1 GET, as curl would). */
export function qosLsRequest(hostHeader: string): Buffer {
  return Buffer.from(`GET /ls HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`, 'latin1');
}
