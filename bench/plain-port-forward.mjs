// The yardstick of the cluster path: a plain port-forward client, the way `kubectl port-forward
// pod/<pod> <port>` works. Each accepted consumer connection gets its own WebSocket to the API
// server's pods/portforward endpoint (subprotocol v4.channel.k8s.io) and bytes are copied both
// ways, with no Dubbo awareness. Written from the protocol, not from dubbo-tunnel's code:
//   - every message starts with a channel byte: 0 = the port's data, 1 = its error text;
//   - the first two bytes the server sends on each channel are the port (uint16 little-endian);
//   - what the client sends goes on channel 0, one message per chunk read from the consumer.
// Backpressure both ways: the consumer socket is paused while the WebSocket's send buffer is over
// HIGH_WATER, and the WebSocket while the consumer socket cannot take more.
// Frames are masked with ws's random keys, as WebSocket clients do by default; `zeroMask` (the
// optional sixth argument `zero-mask`) sends them unmasked as dubbo-tunnel does on loopback and TLS,
// to tell that saving apart from the rest.
// As a child process (bench/cluster.mjs): `node bench/plain-port-forward.mjs <api url> <token>
// <namespace> <pod> <port> [zero-mask]`, reporting its listening port over IPC.
import {Buffer} from 'node:buffer';
import net from 'node:net';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import {WebSocket} from 'ws';

const PROTOCOL = 'v4.channel.k8s.io';
const DATA_CHANNEL = 0;
const ERROR_CHANNEL = 1;
const HIGH_WATER = 1 << 20;
const BINARY = {binary: true};

/** Listens on 127.0.0.1 (any port) and forwards every connection to `pod:port` through `apiUrl`. */
export function startPlainPortForward({apiUrl, token, namespace, pod, port, zeroMask = false}) {
  const url = `${apiUrl.replace(/^http/, 'ws')}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/portforward?ports=${port}`;
  const open = new Set();
  const server = net.createServer({noDelay: true}, (socket) => {
    // Nothing is read from the consumer until the kubelet announced the port.
    socket.pause();
    const ws = new WebSocket(url, [PROTOCOL], {headers: {Authorization: `Bearer ${token}`}, perMessageDeflate: false, ...(zeroMask ? {generateMask: (mask) => mask.fill(0)} : {})});
    const prefixLeft = [2, 2];
    const pair = {socket, ws};
    open.add(pair);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      open.delete(pair);
      socket.destroy();
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.terminate();
    };
    const resumeSocket = () => {
      if (!closed) socket.resume();
    };
    ws.on('message', (data, isBinary) => {
      if (!isBinary || data.length === 0) return;
      const channel = data[0];
      let payload = data.subarray(1);
      if (channel !== DATA_CHANNEL && channel !== ERROR_CHANNEL) return;
      if (prefixLeft[channel] > 0) {
        const skip = Math.min(prefixLeft[channel], payload.length);
        prefixLeft[channel] -= skip;
        payload = payload.subarray(skip);
        if (channel === DATA_CHANNEL && prefixLeft[channel] === 0) socket.resume();
      }
      if (payload.length === 0) return;
      if (channel === ERROR_CHANNEL) {
        process.stderr.write(`plain port-forward: ${payload.toString('utf8')}\n`);
        close();
        return;
      }
      if (!socket.write(payload)) ws.pause();
    });
    socket.on('drain', () => ws.resume());
    socket.on('data', (chunk) => {
      const message = Buffer.allocUnsafe(chunk.length + 1);
      message[0] = DATA_CHANNEL;
      chunk.copy(message, 1);
      if (ws.bufferedAmount < HIGH_WATER) {
        ws.send(message, BINARY);
      } else {
        socket.pause();
        ws.send(message, BINARY, resumeSocket);
      }
    });
    ws.on('close', close);
    ws.on('error', close);
    socket.on('close', close);
    socket.on('error', close);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        close: () => new Promise((done) => {
          for (const {socket, ws} of open) {
            socket.destroy();
            ws.terminate();
          }
          server.close(() => done());
        }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const [apiUrl, token, namespace, pod, port, mask] = process.argv.slice(2);
  const forward = await startPlainPortForward({apiUrl, token, namespace, pod, port: Number(port), zeroMask: mask === 'zero-mask'});
  process.send({type: 'ready', port: forward.port});
  process.on('message', async (msg) => {
    if (msg.type === 'cpu') process.send({type: 'cpu', cpu: process.cpuUsage()});
    if (msg.type === 'stop') {
      await forward.close();
      process.send({type: 'stopped'});
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}
