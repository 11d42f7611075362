/**
 * Asks one application which services it exports, through its own short-lived streams (never a
 * consumer's): the ways real providers answer, in order of how structured the answer is.
 *
 *  1. MetadataService.getMetadataInfos() on the Dubbo port (3.x with a registry);
 *  2. on the Triple port, when the application has one (triple-probe.ts): MetadataService over
 *     Triple (a 3.x provider whose only protocol is tri), then gRPC server reflection;
 *  3. QoS `GET /ls` (3.x always, 2.7 with a registry), when the backend can reach the QoS port;
 *  4. telnet `ls -l` on the Dubbo port (2.7 providers that enabled it);
 *  5. the status-70 "Not found exported service ... in [keys]" text that step 1 (or a call without a
 *     group) got back: every version sends it, but it is error text, so it comes last.
 *
 * MetadataService is asked first, alone for a moment (METADATA_HEAD_START_MS): a 3.x provider answers
 * it at once, and is then asked nothing else. Once it has said nothing useful (or is slow), the
 * Triple port, QoS and telnet are asked at the same time, each on its own stream; through
 * port-forwards a way costs a stream to open, so one after another they took seconds. The answers
 * are still taken in the order above, and the ways a better answer made moot are cancelled.
 *
 * Each way has its own time limit; nothing here throws.
 */
import type {Duplex} from 'node:stream';
import type {Backend, BackendStream} from '../core/backend.js';
import {errorMessage} from '../core/errors.js';
import {FrameDecoder} from '../protocol/frame-decoder.js';
import {HEADER_LENGTH} from '../protocol/header.js';
import {heartbeatReply} from '../protocol/responses.js';
import {decodeMetadataAnswer, encodeMetadataRequest} from './metadata-service.js';
import type {MetadataAnswer, MetadataMethod} from './metadata-service.js';
import {requestQosLs} from './qos-ls.js';
import type {QosHttpAnswer} from './qos-ls.js';
import {TELNET_LS_COMMAND, TelnetLsReader} from './telnet-ls.js';
import type {TelnetLsAnswer} from './telnet-ls.js';
import {probeTriplePort} from './triple-probe.js';
import type {TripleProbeOutcome} from './triple-probe.js';

/** The `remote.application` our discovery calls announce (providers may log it). */
export const PROBE_APPLICATION = 'dubbo-tunnel-discovery';
export const DEFAULT_PROBE_TIMEOUT_MS = 3000;
/** How long MetadataService is asked alone before QoS and telnet are asked too. */
export const METADATA_HEAD_START_MS = 250;

export type LearnWay = 'metadata-service' | 'triple-metadata-service' | 'grpc-reflection' | 'qos' | 'telnet' | 'not-found-list';

export interface ProbeResult {
  /** Service keys, sorted; empty when no way answered. */
  readonly keys: string[];
  /** The way that gave `keys`; undefined when none did. */
  readonly via: LearnWay | undefined;
  /** The provider's own application name when an answer named it (3.x). */
  readonly providerApplication: string | undefined;
  /** One line per way tried that gave nothing, for the warning. */
  readonly misses: string[];
}

export interface ProbeOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function probeExports(backend: Backend, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const misses: string[] = [];
  // QoS and telnet: started when MetadataService has said nothing useful or its head start is over,
  // cancelled when a better answer is in (or the whole probe is).
  const others = new AbortController();
  const cancelOthers = () => others.abort();
  options.signal?.addEventListener('abort', cancelOthers, {once: true});
  if (options.signal?.aborted === true) others.abort();
  let startOthers!: () => void;
  const othersMayStart = new Promise<void>((resolve) => (startOthers = resolve));
  const headStart = setTimeout(startOthers, METADATA_HEAD_START_MS);
  const cancelled: Failed = {kind: 'failed', message: 'cancelled'};
  const qosPort = backend.qos;
  const qosAnswer = qosPort === undefined ? undefined : othersMayStart.then(() => others.signal.aborted ? cancelled
    : exchange(() => qosPort.connect(others.signal), (stream) => requestQosLs(stream, '127.0.0.1'), timeoutMs, others.signal));
  // An application with only a Triple port is not asked anything on the Dubbo port it does not have.
  const dubboPort = backend.tripleOnly !== true;
  const telnetAnswer = !dubboPort ? undefined : othersMayStart.then(() => others.signal.aborted ? cancelled
    : exchange(() => backend.connect(others.signal), (stream) => readAnswer(stream, TELNET_LS_COMMAND, new TelnetLsReader()), timeoutMs, others.signal));
  const triplePort = backend.triple;
  const tripleAnswer = triplePort === undefined ? undefined : othersMayStart.then((): Promise<TripleProbeOutcome> => others.signal.aborted ? Promise.resolve({misses: ['Triple: cancelled']})
    : probeTriplePort(triplePort, backend.application, {timeoutMs, signal: others.signal, consumerApplication: PROBE_APPLICATION}));
  try {
    const metadata: MetadataOutcome = dubboPort ? await askMetadataService(backend, timeoutMs, options.signal) : {miss: ''};
    const providerApplication = metadata.providerApplication;
    if (metadata.keys && metadata.keys.length > 0) return {keys: metadata.keys, via: 'metadata-service', providerApplication, misses};
    startOthers();
    if (dubboPort) misses.push(`MetadataService: ${metadata.miss}`);
    const fallback = metadata.notFoundKeys;

    if (tripleAnswer !== undefined) {
      const triple = await tripleAnswer;
      if (triple.keys !== undefined && triple.keys.length > 0 && triple.via !== undefined) {
        return {keys: triple.keys, via: triple.via, providerApplication: providerApplication ?? triple.providerApplication, misses: [...misses, ...triple.misses]};
      }
      misses.push(...triple.misses);
    }

    if (qosAnswer !== undefined) {
      const qos = await qosAnswer;
      if (qos.kind === 'listing' && qos.keys.length > 0) return {keys: qos.keys.sort(), via: 'qos', providerApplication: providerApplication ?? qos.application, misses};
      misses.push(`QoS /ls: ${describeQos(qos)}`);
    } else {
      misses.push(`QoS /ls: not reachable for this backend (give its address: --backend ${backend.application}=qos://<host>:<port>)`);
    }

    if (telnetAnswer !== undefined) {
      const telnet = await telnetAnswer;
      if (telnet.kind === 'listing' && telnet.keys.length > 0) return {keys: telnet.keys.sort(), via: 'telnet', providerApplication, misses};
      misses.push(`telnet ls: ${telnet.kind === 'listing' ? 'no services listed' : telnet.message}`);
    }

    if (fallback && fallback.length > 0) return {keys: [...fallback].sort(), via: 'not-found-list', providerApplication, misses};
    return {keys: [], via: undefined, providerApplication, misses};
  } finally {
    clearTimeout(headStart);
    others.abort();
    options.signal?.removeEventListener('abort', cancelOthers);
  }
}

/**
 * One miss (`QoS /ls: error forwarding port 22222 to pod …`) in a few words (`QoS: port closed`), for
 * the one-line warning; the whole text is for --verbose and --log-level debug.
 */
export function briefMiss(miss: string): string {
  const colon = miss.indexOf(': ');
  const way = (colon < 0 ? 'learning' : miss.slice(0, colon)).replace(/ \/ls$| ls$/, '');
  const text = colon < 0 ? miss : miss.slice(colon + 2);
  const brief = /no answer within|took over/.test(text) ? 'no answer'
    : /connection refused|ECONNREFUSED/i.test(text) ? 'port closed'
      : /cannot connect/.test(text) ? 'cannot connect'
        : /not reachable for this backend/.test(text) ? 'no address'
          : /not exported/.test(text) ? 'not exported'
            : /not enabled/.test(text) ? 'not enabled'
            : /metadata is empty/.test(text) ? 'empty'
              : /disabled/i.test(text) ? 'disabled'
                : /Unsupported command/i.test(text) ? 'not supported'
                  : text === 'cancelled' ? 'cancelled'
                    : text.length <= 40 ? text : `${text.slice(0, 39)}…`;
  return `${way}: ${brief}`;
}

function describeQos(answer: QosHttpAnswer): string {
  return answer.kind === 'listing' ? 'no services listed' : answer.message;
}

interface MetadataOutcome {
  keys?: string[];
  notFoundKeys?: string[];
  providerApplication?: string;
  miss: string;
}

/**
 * getMetadataInfos() with group = the application name. A status-70 answer names the keys (and on 3.x the
 * provider's real application name, which may differ from ours: then ask again with that group). An empty
 * list (3.x without a registry) is followed by serviceName() without a group, whose status-70 answer lists
 * the keys all the same.
 */
async function askMetadataService(backend: Backend, timeoutMs: number, signal: AbortSignal | undefined): Promise<MetadataOutcome> {
  let session: DubboProbeSession;
  try {
    session = await DubboProbeSession.open(backend, timeoutMs, signal);
  } catch (error) {
    return {miss: `cannot connect: ${errorMessage(error)}`};
  }
  try {
    let answer = await session.call('getMetadataInfos', backend.application);
    let providerApplication: string | undefined;
    let notFoundKeys: string[] | undefined;
    if (answer.kind === 'not-found') {
      notFoundKeys = answer.keys;
      providerApplication = answer.application;
      if (answer.application !== undefined && answer.application !== backend.application) {
        answer = await session.call('getMetadataInfos', answer.application);
      }
    }
    if (answer.kind === 'services') {
      providerApplication ??= answer.application;
      if (answer.keys.length > 0) return {keys: answer.keys, ...(providerApplication === undefined ? {} : {providerApplication}), miss: ''};
      if (notFoundKeys === undefined) {
        const listing = await session.call('serviceName', undefined);
        if (listing.kind === 'not-found') {
          notFoundKeys = listing.keys;
          providerApplication ??= listing.application;
        }
      }
      return {...(notFoundKeys ? {notFoundKeys} : {}), ...(providerApplication === undefined ? {} : {providerApplication}), miss: 'its metadata is empty (a 3.x provider without a registry)'};
    }
    const miss = answer.kind === 'not-found' ? 'not exported (a 2.7 provider, or metadata-type=remote)' : answer.kind === 'failed' ? answer.message : 'unexpected answer';
    return {...(notFoundKeys ? {notFoundKeys} : {}), ...(providerApplication === undefined ? {} : {providerApplication}), miss};
  } catch (error) {
    return {miss: errorMessage(error)};
  } finally {
    session.close();
  }
}

/** One Dubbo stream for a few sequential calls; answers provider heartbeats, ignores everything else. */
class DubboProbeSession {
  readonly #stream: BackendStream['stream'];
  readonly #timeoutMs: number;
  readonly #decoder: FrameDecoder;
  #nextId = 1n;
  #waiting: {id: bigint; method: MetadataMethod; resolve: (answer: MetadataAnswer) => void; reject: (error: Error) => void} | undefined;
  #failure: Error | undefined;

  private constructor(stream: BackendStream['stream'], timeoutMs: number) {
    this.#stream = stream;
    this.#timeoutMs = timeoutMs;
    this.#decoder = new FrameDecoder({
      frame: (header, frame) => {
        if (header.isRequest) {
          const reply = heartbeatReply(header, frame.subarray(HEADER_LENGTH));
          if (reply !== undefined) stream.write(reply);
          return;
        }
        const waiting = this.#waiting;
        if (header.event || !waiting || header.requestId !== waiting.id) return;
        this.#waiting = undefined;
        waiting.resolve(decodeMetadataAnswer(waiting.method, Buffer.from(frame)));
      },
      oversize: () => this.#fail(new Error('the answer is over the payload limit')),
      fatal: (error) => this.#fail(new Error(`the port did not answer in Dubbo: ${error.message}`)),
    });
    stream.on('data', (chunk: Buffer) => this.#decoder.push(chunk));
    stream.on('error', (error) => this.#fail(error));
    stream.on('close', () => this.#fail(new Error('the provider closed the connection')));
  }

  static async open(backend: Backend, timeoutMs: number, signal: AbortSignal | undefined): Promise<DubboProbeSession> {
    const {stream} = await withTimeout(backend.connect(signal), timeoutMs, 'connecting', (late) => late.stream.destroy());
    return new DubboProbeSession(stream, timeoutMs);
  }

  call(method: MetadataMethod, group: string | undefined): Promise<MetadataAnswer> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise<MetadataAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error(`no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiting = {
        id,
        method,
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#stream.write(encodeMetadataRequest({requestId: id, method, group, consumerApplication: PROBE_APPLICATION, timeoutMs: this.#timeoutMs}));
    });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }

  close(): void {
    this.#decoder.close();
    this.#stream.destroy();
  }
}

type Failed = {kind: 'failed'; message: string};

/**
 * Opens a stream and holds the conversation `converse` has on it, until it answers, time runs out or
 * `signal` aborts; the stream is destroyed afterwards in every case.
 */
async function exchange<T extends QosHttpAnswer | TelnetLsAnswer>(
  open: () => Promise<BackendStream>, converse: (stream: Duplex) => Promise<T | Failed>, timeoutMs: number, signal: AbortSignal | undefined,
): Promise<T | Failed> {
  let opened: BackendStream;
  try {
    opened = await withTimeout(open(), timeoutMs, 'connecting', (late) => late.stream.destroy());
  } catch (error) {
    return {kind: 'failed', message: `cannot connect: ${errorMessage(error)}`};
  }
  const {stream} = opened;
  let giveUp!: (failed: Failed) => void;
  const limits = new Promise<Failed>((resolve) => (giveUp = resolve));
  const timer = setTimeout(() => giveUp({kind: 'failed', message: `no answer within ${timeoutMs} ms`}), timeoutMs);
  const onAbort = () => giveUp({kind: 'failed', message: 'cancelled'});
  signal?.addEventListener('abort', onAbort, {once: true});
  try {
    return await Promise.race([converse(stream), limits]);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}

interface StreamReader<T> {
  push(chunk: Buffer): T | undefined;
  end(): T;
}

/** Writes `request` and feeds what comes back to `reader` until it has an answer or the stream ends. */
function readAnswer<T>(stream: Duplex, request: Buffer, reader: StreamReader<T>): Promise<T | Failed> {
  return new Promise<T | Failed>((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      const answer = reader.push(chunk);
      if (answer) resolve(answer);
    });
    stream.on('end', () => resolve(reader.end()));
    stream.on('close', () => resolve(reader.end()));
    stream.on('error', (error) => resolve({kind: 'failed', message: errorMessage(error)}));
    stream.write(request);
  });
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string, disposeLate: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(new Error(`${what} took over ${timeoutMs} ms`));
    }, timeoutMs);
    promise.then((value) => {
      clearTimeout(timer);
      if (expired) disposeLate(value);
      else resolve(value);
    }, (error: unknown) => {
      clearTimeout(timer);
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
}
