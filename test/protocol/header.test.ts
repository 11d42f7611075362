// readHeaderInto reads the id and the body length byte by byte, with a shortcut for ids whose high
// half is 0 or -1; it must agree with Buffer's own 64- and 32-bit reads for every value.
import assert from 'node:assert/strict';
import {test} from 'node:test';
import {describeTarget, emptyHeader, readHeaderInto, writeHeader} from '../../src/protocol/header.js';
import {prng} from './fixtures.js';

function headerBytes(id: bigint, bodyLength: number): Buffer {
  const buf = Buffer.alloc(16);
  writeHeader(buf, 0, {flags: 0xc2, status: 0, requestId: id, bodyLength: 0});
  buf.writeInt32BE(bodyLength, 12);
  return buf;
}

test('request ids: edges of both halves, and random ones, read as a signed 64-bit number', () => {
  const edges = [0n, 1n, 42n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x1_0000_0001n, (1n << 53n) + 1n,
    0x7fff_ffff_ffff_ffffn, -1n, -2n, -0x80000000n, -0x80000001n, -0xffffffffn, -0x100000000n, -0x100000001n, -(1n << 63n)];
  const random = prng(3);
  const ids = [...edges, ...Array.from({length: 2000}, () => random.bytes(8).readBigInt64BE(0))];
  const header = emptyHeader();
  for (const id of ids) {
    const buf = headerBytes(id, 7);
    assert.equal(readHeaderInto(header, buf).requestId, buf.readBigInt64BE(4), `id ${id}`);
    assert.equal(header.requestId, id);
  }
});

test('body lengths read as a signed 32-bit number (a negative one is how a broken frame shows)', () => {
  const header = emptyHeader();
  for (const length of [0, 1, 255, 256, 65_535, 8_388_608, 0x7fffffff, -1, -0x80000000]) {
    assert.equal(readHeaderInto(header, headerBytes(5n, length)).bodyLength, length);
  }
  const shifted = Buffer.concat([Buffer.alloc(3), headerBytes(-7n, 1234)]);
  readHeaderInto(header, shifted, 3);
  assert.deepEqual([header.requestId, header.bodyLength, header.isRequest, header.twoWay, header.serializationId], [-7n, 1234, true, true, 2]);
});

test('describeTarget gives the same string for the same pair, whatever came between', () => {
  const pairs: [string | undefined, string | undefined][] = [['a.B', 'c'], ['a.B', 'd'], [undefined, 'c'], ['a.B', undefined], [undefined, undefined], ['a.B', 'c']];
  const first = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (const [service, method] of pairs) {
      const target = describeTarget(service, method);
      assert.equal(target, `${service ?? '?'}#${method ?? '?'}`);
      const key = `${service}|${method}`;
      if (first.has(key)) assert.equal(target, first.get(key));
      else first.set(key, target);
    }
  }
});
