// The yardstick proxy: a plain TCP relay that pipes every accepted socket to the provider,
// byte for byte, with no Dubbo awareness. Anything dubbo-tunnel adds is measured against this.
import net from 'node:net';

export function startRelay(targetPort, targetHost = '127.0.0.1') {
  const sockets = new Set();
  const server = net.createServer({noDelay: true}, (client) => {
    const upstream = net.connect({port: targetPort, host: targetHost, noDelay: true});
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        close: () => new Promise((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        }),
      });
    });
  });
}
