import type net from 'node:net';
import {sniffHttp1, sniffHttp2Preface, sniffTelnet} from '../protocol/sniff.js';

/** What a consumer's first bytes say it speaks; `gone`: it left before saying anything. */
export type FirstBytesProtocol = 'http2' | 'http1' | 'telnet' | 'dubbo' | 'gone';

/**
 * Port unification: reads until the first bytes tell the HTTP/2 preface (a Triple or gRPC client), an
 * HTTP/1.x request line (curl or Postman calling a method as JSON) and a typed line of text (the
 * telnet shell) from anything else (Dubbo, which starts with 0xdabb), then puts them back and
 * leaves the socket paused for whoever takes it.
 */
export function sniffFirstBytes(socket: net.Socket, decided: (protocol: FirstBytesProtocol) => void): void {
  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const http2 = sniffHttp2Preface(head);
    const http1 = http2 === 'no' ? sniffHttp1(head) : 'no';
    const telnet = http2 === 'no' && http1 === 'no' ? sniffTelnet(head) : 'no';
    if (http2 === 'more' || http1 === 'more' || telnet === 'more') return;
    stop();
    socket.pause();
    socket.unshift(head);
    decided(http2 === 'http2' ? 'http2' : http1 === 'http1' ? 'http1' : telnet === 'telnet' ? 'telnet' : 'dubbo');
  };
  // A peer that leaves before saying anything needs no connection object.
  const onGone = () => {
    stop();
    socket.destroy();
    decided('gone');
  };
  const stop = () => {
    socket.off('data', onData);
    socket.off('end', onGone);
    socket.off('close', onGone);
    socket.off('error', onGone);
  };
  socket.on('data', onData);
  socket.on('end', onGone);
  socket.on('close', onGone);
  socket.on('error', onGone);
}
