// describeNonDubbo: the one line we log when a peer is not speaking Dubbo.
import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {MAX_HTTP1_REQUEST_LINE, describeNonDubbo, sniffHttp1} from '../../src/protocol/sniff.js';
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

describe('sniffHttp1', () => {
  it('takes an HTTP/1.x request line, whole or in pieces', () => {
    const line = 'POST /user-rpc/com.example.UserService/getUser HTTP/1.1\r\nHost: localhost\r\n\r\n["42"]';
    assert.equal(sniffHttp1(Buffer.from(line)), 'http1');
    assert.equal(sniffHttp1(Buffer.from('GET / HTTP/1.0\n')), 'http1');
    // Every shorter prefix waits for more: curl may send the line in pieces.
    const end = line.indexOf('\n');
    for (let cut = 1; cut <= end; cut++) assert.equal(sniffHttp1(Buffer.from(line.slice(0, cut))), 'more', line.slice(0, cut));
  });

  it('refuses what is not a request line', () => {
    assert.equal(sniffHttp1(Buffer.from([0xda, 0xbb, 0xc2])), 'no');
    assert.equal(sniffHttp1(Buffer.from('ls\r\n')), 'no');
    assert.equal(sniffHttp1(Buffer.from('GETTER\r\n')), 'no');
    assert.equal(sniffHttp1(Buffer.from('GET / HTTP/2.0\r\n')), 'no');
    assert.equal(sniffHttp1(Buffer.from('GET two words HTTP/1.1\r\n')), 'no');
    assert.equal(sniffHttp1(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'no');
    // A first line that never ends is not waited for past the bound.
    assert.equal(sniffHttp1(Buffer.from(`GET /${'a'.repeat(MAX_HTTP1_REQUEST_LINE)}`)), 'no');
  });
});
