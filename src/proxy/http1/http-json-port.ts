import http from 'node:http';
import type {Socket} from 'node:net';
import {HttpJsonConnection} from './http-json-connection.js';
import type {HttpJsonContext} from './http-json-connection.js';

/**
 * How long a kept-alive HTTP connection may sit between calls before node closes it. Longer than
 * node's 5 s default: a developer trying calls by hand in Postman pauses between them.
 */
const KEEP_ALIVE_MS = 60_000;

/**
 * The HTTP/1.1 side of the port: one node:http server that never listens; the listener hands it
 * each socket whose first bytes were an HTTP/1.x request line (put back for it to read).
 */
export class HttpJsonPort {
  readonly #server: http.Server;
  readonly #context: HttpJsonContext;
  readonly #connections = new WeakMap<Socket, HttpJsonConnection>();

  constructor(context: HttpJsonContext) {
    this.#context = context;
    this.#server = http.createServer({keepAliveTimeout: KEEP_ALIVE_MS}, (request, response) => {
      const connection = this.#connections.get(request.socket);
      if (connection === undefined) response.destroy();
      else connection.serve(request, response);
    });
    // node answers requests it cannot parse with 400 and closes; a broken socket needs no word.
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nnot an HTTP/1.1 request this port can read\n');
    });
  }

  /** The socket (paused, its first bytes put back) is this port's now. */
  take(socket: Socket, id: number, peer: string): HttpJsonConnection {
    const connection = new HttpJsonConnection(socket, id, peer, this.#context);
    this.#connections.set(socket, connection);
    this.#server.emit('connection', socket);
    socket.resume();
    return connection;
  }
}
