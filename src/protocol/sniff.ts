/**
 * Says in a few words what a peer sent when it is not Dubbo, for the one log line we write before
 * closing the connection (the Java codec hands such bytes to its TelnetCodec; we do not resync).
 */

const HTTP_METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'DELETE ', 'OPTIONS ', 'PATCH ', 'CONNECT ', 'TRACE '];
const MAX_TEXT = 40;
const MAX_HEX = 16;

/** e.g. 'an HTTP request (GET /foo HTTP/1.1)', 'a TLS ClientHello (is the client using TLS?)', 'text (telnet?): "ls\r\n"'. */
export function describeNonDubbo(firstBytes: Buffer): string {
  if (firstBytes.length === 0) return 'no data';
  const b0 = firstBytes[0] ?? 0;
  const b1 = firstBytes[1];

  // TLS record header: content type 0x16 (handshake), version 0x03 0x0N (RFC 8446 §5.1);
  // handshake type 1 at byte 5 is a ClientHello.
  if (b0 === 0x16 && b1 === 0x03) {
    if (firstBytes.length < 6 || firstBytes[5] === 0x01) return 'a TLS ClientHello (is the client using TLS?)';
    return 'a TLS handshake record (is the peer using TLS?)';
  }

  const head = firstBytes.toString('latin1', 0, Math.min(firstBytes.length, 256));
  // HTTP/2 connection preface (RFC 9113 §3.4): a Triple/gRPC client, not dubbo://.
  if (head.startsWith('PRI * HTTP/2.0')) {
    return 'an HTTP/2 connection preface (a Triple or gRPC client? this port speaks dubbo:// only)';
  }
  if (HTTP_METHODS.some((m) => head.startsWith(m))) {
    const lineEnd = head.search(/\r|\n/);
    const line = lineEnd >= 0 ? head.slice(0, lineEnd) : head;
    return `an HTTP request (${truncate(line, 80)})`;
  }
  if (isText(firstBytes)) {
    return `text (telnet?): ${quote(head.slice(0, MAX_TEXT))}${head.length > MAX_TEXT ? '...' : ''}`;
  }
  const shown = firstBytes.subarray(0, MAX_HEX);
  const hex = Array.from(shown, (b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
  return `binary data ${hex}${firstBytes.length > MAX_HEX ? ' ...' : ''}`;
}

function isText(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, 64);
  for (let i = 0; i < n; i++) {
    const b = bytes[i] ?? 0;
    if ((b < 0x20 || b > 0x7e) && b !== 0x0d && b !== 0x0a && b !== 0x09) return false;
  }
  return true;
}

function quote(text: string): string {
  return `"${text.replace(/[\\"\r\n\t]/g, (c) => ({'\\': '\\\\', '"': '\\"', '\r': '\\r', '\n': '\\n', '\t': '\\t'})[c] ?? c)}"`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** The HTTP/2 connection preface a prior-knowledge client sends first (RFC 9113 §3.4): Triple and gRPC clients. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Whether the first bytes of a connection are the HTTP/2 preface: 'http2', 'no', or 'more' while
 * they are a shorter prefix of it (a client may send the preface in pieces). A Dubbo frame starts
 * with 0xda, so one byte usually settles it.
 */
export function sniffHttp2Preface(head: Buffer): 'http2' | 'no' | 'more' {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  if (head.compare(HTTP2_PREFACE, 0, n, 0, n) !== 0) return 'no';
  return n === HTTP2_PREFACE.length ? 'http2' : 'more';
}

/**
 * Whether the first bytes are a line of text typed by a person (`telnet localhost 20880`, then `ls`), as
 * Dubbo's own server falls back to its telnet codec for anything that is not 0xdabb. 'more' while they
 * could still be the start of an HTTP request line, which gets the HTTP answer instead.
 */
export function sniffTelnet(head: Buffer): 'telnet' | 'no' | 'more' {
  if (head.length === 0) return 'more';
  const b0 = head[0] ?? 0;
  if (!((b0 >= 0x20 && b0 <= 0x7e) || b0 === 0x0d || b0 === 0x0a || b0 === 0x09)) return 'no';
  const text = head.toString('latin1', 0, Math.min(head.length, 16));
  if (HTTP_METHODS.some((method) => text.startsWith(method))) return 'no';
  if (HTTP_METHODS.some((method) => method.startsWith(text))) return 'more';
  return 'telnet';
}

/** The longest HTTP/1.x request line waited for; a longer first line is not taken for HTTP. */
export const MAX_HTTP1_REQUEST_LINE = 8192;

/** `METHOD SP request-target SP HTTP/1.x` (RFC 9112 §3): the method a token, the target without spaces. */
const HTTP1_REQUEST_LINE = /^[A-Z]+ [^\s]+ HTTP\/1\.[01]$/;

/**
 * Whether the first bytes are an HTTP/1.x request line (curl, Postman, a browser): 'http1', 'no', or
 * 'more' while they start like one (a known method, `GET /` …) and the line has not ended yet.
 */
export function sniffHttp1(head: Buffer): 'http1' | 'no' | 'more' {
  if (head.length === 0) return 'more';
  // A method starts with a capital letter; a Dubbo frame (0xda) is told by its first byte alone.
  const b0 = head[0] ?? 0;
  if (b0 < 0x41 || b0 > 0x5a) return 'no';
  const start = head.toString('latin1', 0, Math.min(head.length, 16));
  if (!HTTP_METHODS.some((method) => start.startsWith(method))) {
    return HTTP_METHODS.some((method) => method.startsWith(start)) ? 'more' : 'no';
  }
  const text = head.toString('latin1', 0, Math.min(head.length, MAX_HTTP1_REQUEST_LINE));
  const lineEnd = text.indexOf('\n');
  if (lineEnd < 0) return head.length < MAX_HTTP1_REQUEST_LINE ? 'more' : 'no';
  const line = text.slice(0, text[lineEnd - 1] === '\r' ? lineEnd - 1 : lineEnd);
  return HTTP1_REQUEST_LINE.test(line) ? 'http1' : 'no';
}
