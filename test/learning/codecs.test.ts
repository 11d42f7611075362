// The discovery codecs against byte-exact captures of real Dubbo 2.7.23 and 3.2.16 providers
// (../shared/fixtures/dubbo-discovery/README.md): each answer fed whole and split at every offset.
import assert from 'node:assert/strict';
import {Duplex} from 'node:stream';
import {setImmediate as nextTurn, setTimeout as sleep} from 'node:timers/promises';
import {describe, test} from 'node:test';
import {decodeMetadataAnswer, encodeMetadataRequest, serviceKeyOfUrl} from '../../src/learning/metadata-service.js';
import type {MetadataAnswer, MetadataMethod} from '../../src/learning/metadata-service.js';
import {parseNotFoundListing} from '../../src/learning/not-found-list.js';
import {parseQosLs, requestQosLs} from '../../src/learning/qos-ls.js';
import {TelnetLsReader, parseTelnetLs} from '../../src/learning/telnet-ls.js';
import {normalizeServiceKey, parseServiceKey, serviceKey} from '../../src/router/service-key.js';
import {FrameDecoder} from '../../src/protocol/frame-decoder.js';
import {readHeader} from '../../src/protocol/header.js';
import {fixture, fixtureNames, fixturesMissing, splits} from '../support/discovery-fixtures.js';

const skip = fixturesMissing;

describe('service keys', () => {
  test('build and parse [group/]interface[:version]; 0.0.0 and empty mean no version', () => {
    assert.equal(serviceKey('g1', 'demo.PayService', '1.0.0'), 'g1/demo.PayService:1.0.0');
    assert.equal(serviceKey(undefined, 'demo.UserService', '0.0.0'), 'demo.UserService');
    assert.equal(serviceKey('', 'demo.UserService', ''), 'demo.UserService');
    assert.deepEqual(parseServiceKey('g1/demo.PayService:1.0.0'), {group: 'g1', interface: 'demo.PayService', version: '1.0.0'});
    assert.deepEqual(parseServiceKey('demo.UserService'), {group: undefined, interface: 'demo.UserService', version: undefined});
    assert.equal(normalizeServiceKey('demo.UserService:0.0.0'), 'demo.UserService');
    assert.equal(parseServiceKey('not a key'), undefined);
    assert.equal(parseServiceKey('g/1bad'), undefined);
    assert.equal(parseServiceKey(''), undefined);
  });
});

/**
 * What each MetadataService answer must decode to, by fixture name; 'not-probed' for 3.2's answers
 * to methods the prober never calls (only their framing is checked).
 */
function expectedMetadata(name: string): MetadataAnswer['kind'] | 'not-probed' | {keys: string[]; application?: string} | {name: string} {
  const user = name.includes('-user-');
  const v27 = name.startsWith('27-');
  const ownKey = user ? 'demo.UserService' : 'g1/demo.PayService:1.0.0';
  if (v27) {
    // 2.7 exports no MetadataService: no-arg methods get the status-70 list, methods with arguments status 40.
    if (/-(getExportedURLs-|getServiceDefinition|getMetadataInfo-)/.test(name)) return 'failed';
    return {keys: [ownKey]};
  }
  if (name.includes('-nogroup-')) return {keys: [ownKey], application: user ? 'user-rpc' : 'pay-rpc'};
  if (name.includes('-serviceName')) return {name: user ? 'user-rpc' : 'pay-rpc'};
  if (/-(version|getMetadataURL|getServiceDefinition|getSubscribedURLs|getExportedServiceURLs)/.test(name)) return 'not-probed';
  if (name.includes('noreg') || name.includes('getExportedURLs-demo.PayService') || /getMetadataInfo-(0|bogus)/.test(name)) return {keys: []};
  return {keys: [ownKey], application: user ? 'user-rpc' : 'pay-rpc'};
}

function methodOf(name: string): MetadataMethod {
  if (name.includes('serviceName') || name.includes('-version')) return 'serviceName';
  if (name.includes('getExportedURLs')) return 'getExportedURLs';
  return 'getMetadataInfos';
}

describe('MetadataService frames', () => {
  test('a getMetadataInfos() request is byte for byte what a 3.2 consumer sends', {skip}, () => {
    for (const [file, group] of [['32-metadata-user-zk-10-getMetadataInfos.req.bin', 'user-rpc'], ['32-metadata-pay-g1v1-zk-10-getMetadataInfos.req.bin', 'pay-rpc']] as const) {
      const captured = fixture(file);
      const ours = encodeMetadataRequest({requestId: readHeader(captured).requestId, method: 'getMetadataInfos', group, consumerApplication: 'metadata-probe', timeoutMs: 5000});
      assert.deepEqual(ours, captured, file);
    }
  });

  test('serviceName() without a group, and getExportedURLs(), match the captures too', {skip}, () => {
    const nogroup = fixture('32-metadata-user-zk-nogroup-01-serviceName.req.bin');
    assert.deepEqual(encodeMetadataRequest({requestId: readHeader(nogroup).requestId, method: 'serviceName', group: undefined, consumerApplication: 'metadata-probe', timeoutMs: 5000}), nogroup);
    const urls = fixture('32-metadata-pay-g1v1-zk-05-getExportedURLs.req.bin');
    assert.deepEqual(encodeMetadataRequest({requestId: readHeader(urls).requestId, method: 'getExportedURLs', group: 'pay-rpc', consumerApplication: 'metadata-probe', timeoutMs: 5000}), urls);
  });

  const responses = fixtureNames(/^(27|32)-metadata-.*\.resp\.bin$/);
  // Without the captures this is the one skipped test that stands for the per-capture tests below.
  test('the captures are there', {skip}, () => assert.ok(responses.length >= 40, `${responses.length} response captures`));

  for (const name of responses) {
    test(name, () => {
      const expected = expectedMetadata(name);
      const bytes = fixture(name);
      for (const {label, chunks} of splits(bytes)) {
        const frames: Buffer[] = [];
        const decoder = new FrameDecoder({
          frame: (_header, frame) => frames.push(Buffer.from(frame)),
          oversize: () => assert.fail('oversize'),
          fatal: (error) => assert.fail(error.message),
        });
        for (const chunk of chunks) decoder.push(chunk);
        assert.equal(frames.length, 1, label);
        if (expected === 'not-probed') continue;
        const answer = decodeMetadataAnswer(methodOf(name), frames[0] as Buffer);
        if (typeof expected === 'string') {
          assert.equal(answer.kind, expected, `${label}: ${JSON.stringify(answer)}`);
        } else if ('name' in expected) {
          assert.deepEqual(answer, {kind: 'name', application: expected.name}, label);
        } else {
          assert.ok(answer.kind === 'services' || answer.kind === 'not-found', `${label}: ${JSON.stringify(answer)}`);
          assert.deepEqual(answer.keys, expected.keys, label);
          if (expected.application !== undefined) assert.equal(answer.application, expected.application, label);
        }
      }
    });
  }

  test('getExportedURLs URLs give group and version from their parameters', () => {
    assert.equal(serviceKeyOfUrl('dubbo://127.0.0.1:42212/demo.PayService?application=pay-rpc&group=g1&interface=demo.PayService&version=1.0.0'), 'g1/demo.PayService:1.0.0');
    assert.equal(serviceKeyOfUrl('dubbo://127.0.0.1:42211/demo.UserService?interface=demo.UserService'), 'demo.UserService');
    assert.equal(serviceKeyOfUrl('not a url'), undefined);
  });
});

describe('the status-70 "Not found exported service" list', () => {
  test('3.2: keys and the application name; 2.7: keys only', () => {
    assert.deepEqual(
      parseNotFoundListing('org.apache.dubbo.remoting.RemotingException: Not found exported service: org.apache.dubbo.metadata.MetadataService:1.0.0:42212 in [g1/demo.PayService:1.0.0:42212, pay-rpc/org.apache.dubbo.metadata.MetadataService:1.0.0:42212], may be version or group mismatch , channel: x'),
      {keys: ['g1/demo.PayService:1.0.0'], application: 'pay-rpc'},
    );
    assert.deepEqual(parseNotFoundListing('Not found exported service: a.B:1 in [demo.UserService:42101], may be'), {keys: ['demo.UserService'], application: undefined});
    assert.deepEqual(parseNotFoundListing('Not found exported service: a.B:1 in [], may be'), {keys: [], application: undefined});
  });

  test('anything else is not a listing (defensive: error text, not a contract)', () => {
    for (const text of ['', 'Not found exported service', 'Not found exported service: x in [no port here]', 'Not found exported service: x in [a b:1]', 'Not found exported service: x in [demo.A:1', 'some other failure in [demo.A:1]', 'Not found exported service: x in [' + 'a'.repeat(100000) + ':1]']) {
      assert.equal(parseNotFoundListing(text), undefined, text.slice(0, 60));
    }
  });
});

/**
 * A QoS port on the other end of a Backend stream: once the request has arrived it sends `chunks`, one
 * per turn of the event loop (so each is its own 'data' event), then closes unless `close` is false.
 */
function qosPeer(chunks: Buffer[], {close = true} = {}): {stream: Duplex; request: () => string; closeNow: () => void} {
  const sent: Buffer[] = [];
  let answering = false;
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      sent.push(chunk);
      done();
      if (answering || !Buffer.concat(sent).includes('\r\n\r\n')) return;
      answering = true;
      void (async () => {
        for (const chunk of chunks) {
          await nextTurn();
          stream.push(chunk);
        }
        await nextTurn();
        if (close) stream.push(null);
      })();
    },
  });
  return {stream, request: () => Buffer.concat(sent).toString('latin1'), closeNow: () => stream.push(null)};
}

describe('QoS GET /ls', () => {
  const expected: Record<string, {kind: string; keys?: string[]; application?: string}> = {
    '27-qos-http-user-zk-ls.s2c.bin': {kind: 'listing', keys: ['demo.UserService']},
    '27-qos-http-user-zk-ls-accept-json.s2c.bin': {kind: 'listing', keys: ['demo.UserService']},
    '27-qos-http-pay-g1v1-zk-ls.s2c.bin': {kind: 'listing', keys: ['g1/demo.PayService:1.0.0']},
    '27-qos-http-pay-g1v1-zk-ls-accept-json.s2c.bin': {kind: 'listing', keys: ['g1/demo.PayService:1.0.0']},
    '27-qos-http-user-zk-foreign-ls.s2c.bin': {kind: 'refused'},
    '32-qos-http-user-zk-ls.s2c.bin': {kind: 'listing', keys: ['demo.UserService'], application: 'user-rpc'},
    '32-qos-http-user-noreg-ls.s2c.bin': {kind: 'listing', keys: ['demo.UserService'], application: 'user-rpc'},
    '32-qos-http-user-noreg-ls-accept-json.s2c.bin': {kind: 'listing', keys: ['demo.UserService'], application: 'user-rpc'},
    '32-qos-http-pay-noreg-ls.s2c.bin': {kind: 'listing', keys: ['demo.PayService'], application: 'pay-rpc'},
    '32-qos-http-pay-g1v1-zk-ls.s2c.bin': {kind: 'listing', keys: ['g1/demo.PayService:1.0.0'], application: 'pay-rpc'},
    '32-qos-http-user-noreg-foreign-ls.s2c.bin': {kind: 'refused'},
  };
  test('every HTTP capture has an expectation', {skip}, () => {
    assert.deepEqual(fixtureNames(/-qos-http-.*\.s2c\.bin$/).filter((name) => !(name in expected) && !name.includes('accept-json')), []);
  });
  for (const [name, want] of Object.entries(expected)) {
    test(name, {skip}, async () => {
      const bytes = fixture(name);
      for (const {label, chunks} of splits(bytes)) {
        const peer = qosPeer(chunks);
        const answer = await requestQosLs(peer.stream, '127.0.0.1');
        assert.match(peer.request(), /^GET \/ls HTTP\/1\.1\r\n(.+\r\n)*Host: 127\.0\.0\.1\r\n/, label);
        assert.equal(answer.kind, want.kind, `${label}: ${JSON.stringify(answer)}`);
        if (answer.kind === 'listing') {
          assert.deepEqual(answer.keys, want.keys, label);
          assert.equal(answer.application, want.application, label);
        }
      }
    });
  }

  test('the QoS telnet ls answer has the same tables', {skip}, () => {
    const text = fixture('32-qos-telnet-pay-g1v1-zk.2-ls.s2c.bin').toString('utf8');
    assert.deepEqual(parseQosLs(text), {keys: ['g1/demo.PayService:1.0.0'], application: 'pay-rpc'});
    assert.equal(parseQosLs('dubbo>'), undefined);
  });

  test('not HTTP, a truncated header, another status, nothing, too much', async () => {
    assert.equal((await requestQosLs(qosPeer([Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'.repeat(4))], {close: false}).stream, '127.0.0.1')).kind, 'failed');
    // A header cut short is no answer until the port closes.
    const cut = qosPeer([Buffer.from('HTTP/1.1 200 OK\r\ncontent-le')], {close: false});
    let cutAnswer: string | undefined;
    const answering = requestQosLs(cut.stream, '127.0.0.1').then((answer) => (cutAnswer = answer.kind));
    await sleep(50);
    assert.equal(cutAnswer, undefined);
    cut.closeNow();
    await answering;
    assert.equal(cutAnswer, 'failed');
    assert.equal((await requestQosLs(qosPeer([Buffer.from('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n')], {close: false}).stream, '127.0.0.1')).kind, 'failed');
    assert.equal((await requestQosLs(qosPeer([]).stream, '127.0.0.1')).kind, 'failed');
    const huge = qosPeer([Buffer.from('HTTP/1.1 200 OK\r\n\r\nAs Provider side:\n'), ...Array.from({length: 17}, () => Buffer.alloc(64 * 1024, 0x2d))], {close: false});
    assert.deepEqual(await requestQosLs(huge.stream, '127.0.0.1'), {kind: 'failed', message: 'the QoS answer is over 1048576 bytes'});
  });
});

describe('telnet ls on the Dubbo port', () => {
  const expected: Record<string, {kind: string; keys?: string[]}> = {
    '27-dubboport-telnet-user-cmds-on-ls.s2c.bin': {kind: 'listing', keys: ['demo.UserService']},
    '27-dubboport-telnet-user-cmds-on-ls-l.s2c.bin': {kind: 'listing', keys: ['demo.UserService']},
    '27-dubboport-telnet-user-cmds-on-ls-lf-only.s2c.bin': {kind: 'listing', keys: ['demo.UserService']},
    '27-dubboport-telnet-pay-g1v1-cmds-on-ls.s2c.bin': {kind: 'listing', keys: ['g1/demo.PayService:1.0.0']},
    '27-dubboport-telnet-pay-g1v1-cmds-on-ls-l.s2c.bin': {kind: 'listing', keys: ['g1/demo.PayService:1.0.0']},
    '27-dubboport-telnet-user-cmds-off-ls.s2c.bin': {kind: 'disabled'},
    '27-dubboport-telnet-user-cmds-off-ls-l.s2c.bin': {kind: 'disabled'},
    '32-dubboport-telnet-user-cmds-off-ls-l.s2c.bin': {kind: 'unsupported'},
    '32-dubboport-telnet-user-cmds-on-ls-l.s2c.bin': {kind: 'unsupported'},
    '32-dubboport-telnet-user-cmds-on-ls-then-crlf.2-crlf.s2c.bin': {kind: 'unsupported'},
  };
  for (const [name, want] of Object.entries(expected)) {
    test(name, {skip}, () => {
      const bytes = fixture(name);
      for (const {label, chunks} of splits(bytes)) {
        const reader = new TelnetLsReader();
        const answers = chunks.map((chunk) => reader.push(chunk));
        // Complete only once the prompt arrived: never before the last chunk.
        assert.ok(answers.slice(0, -1).every((answer) => answer === undefined), label);
        const answer = answers.at(-1);
        assert.equal(answer?.kind, want.kind, `${label}: ${JSON.stringify(answer)}`);
        if (answer?.kind === 'listing') assert.deepEqual(answer.keys, want.keys, label);
      }
    });
  }

  test('no prompt (ls --no-prompt) or a closed port is not an answer', {skip}, () => {
    const reader = new TelnetLsReader();
    assert.equal(reader.push(fixture('27-dubboport-telnet-user-cmds-on-ls-no-prompt.s2c.bin')), undefined);
    assert.equal(reader.end().kind, 'failed');
    assert.equal(parseTelnetLs('').kind, 'failed');
    assert.equal(new TelnetLsReader().push(Buffer.from([0xda, 0xbb, 0x02, 0x14]))?.kind, 'failed');
  });
});
