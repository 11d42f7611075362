// The codec and the router against Hessian 2 bodies written by Java (Caucho Hessian 4.0.38, see
// test/fixtures/java-hessian/README.md). The bodies and manifest.json are committed, so no Java is
// needed here. Expectations that do not come from the generator (first tag of each argument,
// byte sequences that prove a form was written) are spelled out below from the Hessian 2.0
// grammar, so a regenerated fixture that stopped exercising a form would fail.
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';
import {after, before, describe, test} from 'node:test';
import {HessianWalker} from '../../src/protocol/hessian-walker.js';
import {peekHessian2Request, peekRequest} from '../../src/protocol/request-peek.js';
import {TestProvider} from '../support/dubbo-peers.js';
import type {WireFrame} from '../support/dubbo-wire.js';
import {waitFor} from '../support/wait.js';
import {startTunnel} from '../proxy/harness.js';
import type {Tunnel} from '../proxy/harness.js';
import {decodeAllWays, decodeChunks, frameOf, hex, prng, referenceValueEnds} from './fixtures.js';

const DIR = resolve(import.meta.dirname, '../fixtures/java-hessian');

interface RequestEntry {
  file: string;
  kind: 'request';
  length: number;
  dubboVersion: string;
  service: string;
  serviceVersion: string;
  method: string;
  parameterTypes: string;
  argumentCount: number;
  attachments: Record<string, string | number | null>;
  valueEnds: number[];
}

interface ResponseEntry {
  file: string;
  kind: 'response';
  length: number;
  flag: number;
  valueEnds: number[];
}

type Entry = RequestEntry | ResponseEntry;

const manifest = JSON.parse(readFileSync(resolve(DIR, 'manifest.json'), 'utf8')) as {generator: string; bodies: Entry[]};
const bodies = new Map(manifest.bodies.map((entry) => [entry.file, readFileSync(resolve(DIR, entry.file))]));
const requests = manifest.bodies.filter((entry): entry is RequestEntry => entry.kind === 'request');
const responses = manifest.bodies.filter((entry): entry is ResponseEntry => entry.kind === 'response');

function bodyOf(entry: Entry): Buffer {
  const body = bodies.get(entry.file);
  assert.ok(body, entry.file);
  return body;
}

/** Where argument i (0-based) starts: after the 5 header strings and the arguments before it. */
function argumentStart(entry: RequestEntry, i: number): number {
  return entry.valueEnds[4 + i] as number;
}

/**
 * Per fixture: the first byte of each argument (Hessian2Output's choice of form) and byte
 * sequences the body must contain. Written from the grammar, not taken from the generator.
 */
const EXPECTED: Record<string, {firstTags: number[]; contains?: Buffer[]}> = {
  // 'C' Order definition; argument 2 is a back-reference to the Customer inside argument 1 ('Q' ref 1).
  'req-pojo-shared-refs.bin': {firstTags: [0x43, 0x51], contains: [hex('51 92 51 92')]}, // shipTo, billTo = the home Address
  // Account defined once: argument 2 is instance 0x60 of class 0 without another 'C'.
  'req-same-class-twice.bin': {firstTags: [0x43, 0x60]},
  // ArrayList untyped fixed list of 5 (0x78+5); LinkedList and HashSet typed fixed lists of 3 (0x70+3).
  'req-collections.bin': {firstTags: [0x7d, 0x73, 0x73], contains: [Buffer.from('\x14java.util.LinkedList', 'latin1'), Buffer.from('\x11java.util.HashSet', 'latin1')]},
  // [int x5, [string x4, [object x6; inside [object an int[] names its type by reference: 0x71, type ref 0.
  'req-arrays.bin': {firstTags: [0x75, 0x74, 0x76], contains: [hex('71 90 99')]},
  'req-maps.bin': {firstTags: [0x48, 0x4d, 0x4d], contains: [Buffer.from('M\x11java.util.TreeMap', 'latin1')]},
  // BigDecimal (a reflective object under Caucho, README), Date in minutes (0x4b), Date in ms (0x4a), enum definition.
  'req-decimal-dates-enum.bin': {firstTags: [0x43, 0x4b, 0x4a, 0x43]},
  // 'A' chunks of 8189 (0x1ffd) bytes, a final 'B' chunk of 4132 (0x1024).
  'req-bytes-100k.bin': {firstTags: [0x41], contains: [hex('41 1f fd'), hex('42 10 24')]},
  // First chunk one unit short of 0x8000: the surrogate pair at 0x7fff is not split.
  'req-long-string.bin': {firstTags: [0x52], contains: [hex('52 7f ff'), hex('52 80 00'), hex('53 11 71'), hex('ed a0 bd ed b8 80')]},
  'req-nulls.bin': {firstTags: [0x4e, 0x4e, 0x4e]},
  'req-numbers.bin': {
    firstTags: [
      0xe0, 0xd8, 0xef, 0xf0, 0xff, 0x38, 0x3f, 0x59, 0x4c, 0x4c, // longs: 0, -8, 15, -2048, 2047, -262144, 262143, 2^31-1, max, min
      0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x44, 0x44, 0x44, // doubles: 0.0, 1.0, -128.0, 32767.0, 12.345 (mills), pi, NaN, -max
      0x80, 0xbf, 0xc0, 0xd7, 0x49, // ints: -16, 47, -2048, 262143, min
      0x43, // a Float as Caucho's FloatHandle object (README)
    ],
    contains: [hex('5f 00 00 30 39'), hex('4c 7f ff ff ff ff ff ff ff'), hex('4c 80 00 00 00 00 00 00 00')],
  },
  'req-generic-invoke.bin': {firstTags: [0x0d, 0x71, 0x71]},
};

const LONG_STRING = ((): string => {
  // The same string as Generate.longString().
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  while (s.length < 0x7fff) s += alphabet[s.length % alphabet.length];
  s += '\u{1F600}Grüße, 𝄞 und €';
  while (s.length < 70_000 - 2) s += alphabet[s.length % alphabet.length];
  return `${s}\u{1D11E}`;
})();

const REQUEST_FLAGS = 0xc2; // REQUEST | TWOWAY | hessian2
const ONEWAY_FLAGS = 0x82;
const RESPONSE_FLAGS = 0x02;

describe('Java-written hessian2 bodies (Caucho Hessian 4.0.38)', () => {
  test('the fixture set is complete and the files match the manifest', () => {
    assert.match(manifest.generator, /Caucho Hessian 4\.0\.38/);
    assert.deepEqual(requests.map((entry) => entry.file).sort(), Object.keys(EXPECTED).sort());
    assert.equal(responses.length, 4);
    for (const entry of manifest.bodies) {
      assert.equal(bodyOf(entry).length, entry.length, entry.file);
      assert.equal(entry.valueEnds.at(-1), entry.length, `${entry.file}: the last value ends the body`);
    }
  });

  for (const entry of requests) {
    test(`${entry.file}: peekHessian2Request finds service, method, arguments and attachments`, () => {
      const body = bodyOf(entry);
      const meta = peekHessian2Request(body);
      assert.equal(meta.dubboVersion, entry.dubboVersion);
      assert.equal(meta.service, entry.service);
      assert.equal(meta.serviceVersion, entry.serviceVersion);
      assert.equal(meta.method, entry.method);
      assert.equal(meta.parameterTypes, entry.parameterTypes);
      assert.equal(meta.argumentCount, entry.argumentCount);
      assert.equal(meta.attachmentsRead, true);
      assert.deepEqual(Object.fromEntries(meta.attachments), entry.attachments);
      assert.deepEqual(peekRequest(2, body), meta);
    });

    test(`${entry.file}: the walker ends every value where Java ended it`, () => {
      const body = bodyOf(entry);
      const expected = EXPECTED[entry.file];
      assert.ok(expected);
      const walker = new HessianWalker(body);
      const ends: number[] = [];
      for (let i = 0; i < 5; i++) {
        walker.readString();
        ends.push(walker.pos);
      }
      for (let i = 0; i < entry.argumentCount; i++) {
        assert.equal(body[walker.pos], expected.firstTags[i], `${entry.file}: first tag of argument ${i + 1}`);
        walker.skipValue();
        ends.push(walker.pos);
      }
      walker.skipValue(); // attachments
      ends.push(walker.pos);
      assert.deepEqual(ends, entry.valueEnds);
      assert.equal(walker.atEnd, true);
      assert.equal(expected.firstTags.length, entry.argumentCount);
      for (const bytes of expected.contains ?? []) {
        assert.ok(body.includes(bytes), `${entry.file} contains ${bytes.toString('hex')}`);
      }
      // A third opinion: hessian.js reads the same boundaries.
      assert.deepEqual(referenceValueEnds(body, entry.valueEnds.length), entry.valueEnds);
    });
  }

  test('the 70 000-unit string decodes to the generator\'s string (CESU-8 surrogates, 3 chunks)', () => {
    const entry = requests.find((e) => e.file === 'req-long-string.bin');
    assert.ok(entry);
    const walker = new HessianWalker(bodyOf(entry));
    walker.pos = argumentStart(entry, 0);
    const value = walker.readString();
    assert.equal(value?.length, 70_000);
    assert.equal(value, LONG_STRING);
    assert.equal(walker.pos, entry.valueEnds[5]);
  });

  for (const entry of responses) {
    test(`${entry.file}: flag ${entry.flag}, value and attachments end where Java ended them`, () => {
      const body = bodyOf(entry);
      const walker = new HessianWalker(body);
      assert.equal(walker.readInt(), entry.flag);
      const ends = [walker.pos];
      while (!walker.atEnd) {
        walker.skipValue();
        ends.push(walker.pos);
      }
      assert.deepEqual(ends, entry.valueEnds);
      assert.deepEqual(referenceValueEnds(body, entry.valueEnds.length), entry.valueEnds);
    });
  }

  test('the exception body carries its self-reference cause (Q 90)', () => {
    const body = bodyOf(responses.find((e) => e.file === 'resp-exception-attachments.bin') as Entry);
    assert.ok(body.includes(Buffer.from('order 42 not found\x51\x90', 'latin1')));
  });

  test('every body as a frame goes through FrameDecoder whole, byte by byte and split everywhere', () => {
    for (const [index, entry] of manifest.bodies.entries()) {
      const flags = entry.kind === 'request' ? REQUEST_FLAGS : RESPONSE_FLAGS;
      const frame = frameOf(flags, BigInt(index + 1), bodyOf(entry), entry.kind === 'request' ? 0 : 20);
      const result = decodeAllWays(frame);
      assert.equal(result.failed, false);
      assert.equal(result.bufferedBytes, 0);
      assert.equal(result.events.length, 1, entry.file);
      const event = result.events[0];
      assert.ok(event?.kind === 'frame');
      assert.deepEqual(event.bytes, frame);
      assert.equal(event.header.bodyLength, entry.length);
      if (entry.kind === 'request') {
        assert.equal(peekRequest(event.header.serializationId, event.bytes.subarray(16)).service, entry.service);
      }
    }
  });

  test('all frames back to back in one stream, in random chunks', () => {
    const frames = manifest.bodies.map((entry, index) =>
      frameOf(entry.kind === 'request' ? REQUEST_FLAGS : RESPONSE_FLAGS, BigInt(index + 1), bodyOf(entry), entry.kind === 'request' ? 0 : 20));
    const stream = Buffer.concat(frames);
    const random = prng(0x1a7a);
    for (let round = 0; round < 20; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length;) {
        const size = 1 + random.int(round % 2 === 0 ? 64 : 20_000);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      const result = decodeChunks(chunks);
      assert.deepEqual(result.events.map((e) => (e.kind === 'frame' ? e.bytes : e.kind)), frames, `round ${round}`);
    }
    const byteByByte = decodeChunks(Array.from({length: stream.length}, (_, i) => stream.subarray(i, i + 1)));
    assert.deepEqual(byteByByte.events.map((e) => (e.kind === 'frame' ? e.bytes : e.kind)), frames);
  });
});

describe('the router forwards Java-written frames byte for byte', () => {
  const applications = [...new Set(requests.map((entry) => entry.attachments['target-application'] as string))].sort();
  const providers = new Map<string, TestProvider>();
  /** request id (the consumer's) -> the Java response body its provider answers with */
  const answers = new Map<bigint, Buffer>();
  /**
   * A two-way request's body (hex) -> the consumer's id for it: the provider sees the id of the
   * tunnel's shared stream instead, and finds the answer by the body it got.
   */
  const idOfBody = new Map<string, bigint>();
  let tunnel: Tunnel;

  before(async () => {
    assert.deepEqual(applications, ['billing-app', 'orders-app', 'users-app']);
    for (const application of applications) {
      const provider: TestProvider = await TestProvider.start({
        application,
        handler: (req) => {
          // Answer with the Java bytes, raw, instead of a hessian.js-encoded reply.
          const consumerId = req.twoWay ? idOfBody.get(req.frame.body.toString('hex')) : undefined;
          const body = consumerId === undefined ? undefined : answers.get(consumerId);
          if (body) setImmediate(() => provider.sendToAll(frameOf(RESPONSE_FLAGS, req.id, body, 20)));
          return {noReply: true};
        },
      });
      providers.set(application, provider);
    }
    tunnel = await startTunnel([...providers.values()]);
  });
  after(async () => {
    await tunnel.close();
    await Promise.all([...providers.values()].map((provider) => provider.close()));
  });

  test('requests (two-way and one-way, written in random chunks) reach the right provider unchanged; Java responses come back unchanged', async () => {
    const consumer = await tunnel.consumer();
    const sent: {frame: Buffer; application: string; twoWay: boolean; id: bigint}[] = [];
    let id = 100n;
    for (const entry of requests) {
      const application = entry.attachments['target-application'] as string;
      for (const twoWay of [true, false]) {
        id++;
        const frame = frameOf(twoWay ? REQUEST_FLAGS : ONEWAY_FLAGS, id, bodyOf(entry));
        sent.push({frame, application, twoWay, id});
        if (twoWay) {
          answers.set(id, bodyOf(responses[Number(id) % responses.length] as Entry));
          idOfBody.set(bodyOf(entry).toString('hex'), id);
        }
      }
    }
    const stream = Buffer.concat(sent.map((s) => s.frame));
    const random = prng(7);
    for (let at = 0; at < stream.length;) {
      const size = 1 + random.int(9000);
      consumer.send(stream.subarray(at, at + size));
      at += size;
    }

    const receivedBy = (application: string): WireFrame[] => {
      const provider = providers.get(application) as TestProvider;
      return [...provider.received.map((r) => r.frame), ...provider.badRequests];
    };
    await waitFor(() => applications.reduce((n, app) => n + receivedBy(app).length, 0) === sent.length, {message: 'all requests forwarded'});
    for (const application of applications) {
      const provider = providers.get(application) as TestProvider;
      assert.equal(provider.badRequests.length, 0, `${application}: hessian.js decodes the Java bodies too`);
      const expected = sent.filter((s) => s.application === application).map((s) => s.frame);
      // Byte for byte but for the request id (bytes 4-11), which is the shared stream's own: distinct per request.
      const received = receivedBy(application).map((f) => f.raw);
      assert.equal(new Set(received.map((raw) => raw.subarray(4, 12).toString('hex'))).size, received.length, `${application}: one id per request`);
      const withConsumerIds = received.map((raw, index) => Buffer.concat([raw.subarray(0, 4), (expected[index] ?? raw).subarray(4, 12), raw.subarray(12)]));
      assert.deepEqual(withConsumerIds, expected, `${application} got its frames, in order, unchanged but for the id`);
    }

    const twoWay = sent.filter((s) => s.twoWay);
    await waitFor(() => consumer.frames.length >= twoWay.length, {message: 'all responses back'});
    assert.equal(consumer.frames.length, twoWay.length, 'one-way requests get no answer');
    const byId = new Map(consumer.frames.map((f) => [f.id, f]));
    for (const request of twoWay) {
      const response = byId.get(request.id);
      assert.ok(response, `response to ${request.id}`);
      assert.deepEqual(response.raw, frameOf(RESPONSE_FLAGS, request.id, answers.get(request.id) as Buffer, 20));
    }
    await consumer.close();
  });
});
