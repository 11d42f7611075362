// describeNonDubbo: the one line we log when a peer is not speaking Dubbo.
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {describeNonDubbo} from '../../src/protocol/sniff.js';
import {hex} from './fixtures.js';

describe('describeNonDubbo', () => {
  it('names HTTP requests by their request line', () => {
    assert.equal(describeNonDubbo(Buffer.from('GET /foo HTTP/1.1\r\nHost: x\r\n\r\n')), 'an HTTP request (GET /foo HTTP/1.1)');
    assert.equal(describeNonDubbo(Buffer.from('POST /api HTTP/1.0\r\n')), 'an HTTP request (POST /api HTTP/1.0)');
  });

  it('names an HTTP/2 preface (a Triple or gRPC client)', () => {
    assert.match(describeNonDubbo(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), /HTTP\/2 connection preface.*Triple or gRPC/);
  });

  it('names a TLS ClientHello', () => {
    // record: handshake (0x16), TLS 1.0 record version, length; handshake type 1 = ClientHello
    assert.equal(describeNonDubbo(hex('16 03 01 02 00 01 00 01 fc 03 03')), 'a TLS ClientHello (is the client using TLS?)');
    assert.equal(describeNonDubbo(hex('16 03')), 'a TLS ClientHello (is the client using TLS?)');
  });

  it('quotes text with escapes, truncated', () => {
    assert.equal(describeNonDubbo(Buffer.from('ls\r\n')), 'text (telnet?): "ls\\r\\n"');
    assert.equal(describeNonDubbo(Buffer.from('say "hi"\t')), 'text (telnet?): "say \\"hi\\"\\t"');
    assert.equal(describeNonDubbo(Buffer.from('x'.repeat(50))), `text (telnet?): "${'x'.repeat(40)}"...`);
  });

  it('shows binary data as hex bytes', () => {
    assert.equal(describeNonDubbo(hex('12 34')), 'binary data 0x12 0x34');
    assert.equal(describeNonDubbo(Buffer.alloc(20, 0xff)), `binary data ${Array(16).fill('0xff').join(' ')} ...`);
    assert.equal(describeNonDubbo(Buffer.alloc(0)), 'no data');
  });
});
