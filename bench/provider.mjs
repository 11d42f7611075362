// Fast bench provider (child process): answers every two-way request, once its whole body has
// arrived, with the pre-encoded OK response for that request (bench/frames.mjs,
// responsesByRequestLength); only the id (bytes 4-11) is copied from the request. Heartbeat
// requests get heartbeat responses. Reports its port over IPC.
import {Buffer} from 'node:buffer';
import process from 'node:process';
import net from 'node:net';
import {FrameSkipper, HEADER_LENGTH, responseBody, responseHeader, responsesByRequestLength} from './frames.mjs';

const responses = responsesByRequestLength();
// Optional first argument: JSON [[requestBodyBytes, responseBodyBytes], ...], answers for the request
// sizes of a section's own shapes (bench/cluster.mjs).
for (const [requestBytes, responseBytes] of JSON.parse(process.argv[2] ?? '[]')) responses.set(requestBytes, responseBody(responseBytes));
const fallback = responseBody(1024);
const HEARTBEAT_BODY = Buffer.from([0x4e]);

const server = net.createServer({noDelay: true}, (socket) => {
  let flags = 0;
  let bodyLength = 0;
  const skipper = new FrameSkipper(
    (header) => {
      flags = header[2];
      bodyLength = header.readInt32BE(12);
    },
    (header) => {
      // Only two-way requests are answered (0x80 request, 0x40 two-way); events: heartbeats only.
      if ((flags & 0xc0) !== 0xc0) return;
      if (flags & 0x20) {
        const h = responseHeader(header, 4, 1);
        h[2] = 0x22;
        socket.cork();
        socket.write(h);
        socket.write(HEARTBEAT_BODY);
        socket.uncork();
        return;
      }
      const body = responses.get(bodyLength) ?? fallback;
      socket.cork();
      socket.write(responseHeader(header, 4, body.length));
      socket.write(body);
      socket.uncork();
    },
  );
  socket.on('data', (chunk) => {
    try {
      skipper.push(chunk);
    } catch {
      socket.destroy();
    }
  });
  socket.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  process.send({type: 'ready', port: server.address().port, headerLength: HEADER_LENGTH});
});
process.on('message', (msg) => {
  if (msg.type === 'stop') {
    server.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
