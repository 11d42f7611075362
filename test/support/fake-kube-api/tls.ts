/**
 * A throw-away CA and a server certificate for 127.0.0.1 / ::1 / localhost, built with node:crypto
 * only (no openssl binary): the X.509 structures are DER-encoded by hand (RFC 5280 §4.1) and signed
 * with ECDSA P-256 / SHA-256.
 */
import {generateKeyPairSync, randomBytes, sign, type KeyObject} from 'node:crypto';

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);
const explicit = (n: number, ...items: Buffer[]): Buffer => tlv(0xa0 | n, ...items);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.from([unused]), b);

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && (b[i + 1]! & 0x80) === 0) i++;
  const trimmed = b.subarray(i);
  // A leading 1 bit would make it negative.
  return tlv(0x02, (trimmed[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [];
    let v = part;
    do {
      chunk.unshift(v & 0x7f);
      v >>= 7;
    } while (v > 0);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function utcTime(d: Date): Buffer {
  const s = d.toISOString(); // 2025-01-02T03:04:05.678Z
  const text = s.slice(2, 4) + s.slice(5, 7) + s.slice(8, 10) + s.slice(11, 13) + s.slice(14, 16) + s.slice(17, 19) + 'Z';
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

const commonName = (cn: string): Buffer => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

function certificate(options: {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  extensions: Buffer[];
}): string {
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ECDSA_SHA256,
    commonName(options.issuer),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 365 * 86400_000))),
    commonName(options.subject),
    options.publicKey.export({type: 'spki', format: 'der'}),
    explicit(3, seq(...options.extensions)),
  );
  const signature = sign('sha256', tbs, options.signingKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

export function createSelfSignedTls(): TlsMaterial {
  const ca = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
  const server = generateKeyPairSync('ec', {namedCurve: 'prime256v1'});
  const caPem = certificate({
    subject: 'fake-kube-api-ca',
    issuer: 'fake-kube-api-ca',
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      extension('2.5.29.19', true, seq(bool(true))), // basicConstraints CA:TRUE
      extension('2.5.29.15', true, bits(Buffer.from([0x86]), 1)), // keyUsage digitalSignature, keyCertSign, cRLSign
    ],
  });
  const loopback6 = Buffer.alloc(16);
  loopback6[15] = 1;
  const certPem = certificate({
    subject: 'kube-apiserver',
    issuer: 'fake-kube-api-ca',
    publicKey: server.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      extension('2.5.29.19', true, seq()), // CA:FALSE
      extension('2.5.29.15', true, bits(Buffer.from([0x80]), 7)), // digitalSignature
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // serverAuth
      // subjectAltName: dNSName [2] localhost, kubernetes; iPAddress [7] 127.0.0.1, ::1
      extension('2.5.29.17', false, seq(
        tlv(0x82, Buffer.from('localhost')),
        tlv(0x82, Buffer.from('kubernetes.default.svc')),
        tlv(0x87, Buffer.from([127, 0, 0, 1])),
        tlv(0x87, loopback6),
      )),
    ],
  });
  const keyPem = server.privateKey.export({type: 'pkcs8', format: 'pem'}).toString();
  return {caPem, certPem, keyPem};
}
