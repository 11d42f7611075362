import type {Backend} from '../../src/core/backend.js';
import {TunnelEventBus} from '../../src/core/events.js';
import type {RequestCompleted} from '../../src/core/events.js';
import {StaticBackend} from '../../src/proxy/static-backend.js';
import {TunnelServer} from '../../src/proxy/tunnel-server.js';
import type {TunnelServerOptions} from '../../src/proxy/tunnel-server.js';
import {RouteSource, createRouteTable} from '../../src/router/route-table.js';
import type {TestProvider} from '../support/dubbo-peers.js';
import {TestConsumer} from '../support/dubbo-peers.js';

export interface Tunnel {
  server: TunnelServer;
  routes: RouteSource;
  events: TunnelEventBus;
  completed: RequestCompleted[];
  consumer(): Promise<TestConsumer>;
  close(): Promise<void>;
}

/** A real TunnelServer on 127.0.0.1:0 routing to the given providers (application = provider.application). */
export async function startTunnel(
  targets: (TestProvider | Backend)[],
  options: Partial<Omit<TunnelServerOptions, 'routes' | 'events' | 'port'>> & {interfaces?: [string, string][]} = {},
): Promise<Tunnel> {
  const events = new TunnelEventBus();
  const completed: RequestCompleted[] = [];
  events.on('request-completed', (event) => completed.push(event));
  const backends = targets.map((target) => ('connect' in target ? target : new StaticBackend(target.application, '127.0.0.1', target.port)));
  const routes = new RouteSource(createRouteTable(backends, options.interfaces ?? []));
  const {interfaces: _ignored, ...serverOptions} = options;
  const server = await TunnelServer.start({host: '127.0.0.1', ...serverOptions, port: 0, routes, events});
  const consumers: TestConsumer[] = [];
  return {
    server,
    routes,
    events,
    completed,
    async consumer() {
      const consumer = await TestConsumer.connect(server.port);
      consumers.push(consumer);
      return consumer;
    },
    async close() {
      await Promise.all(consumers.map((consumer) => consumer.close()));
      await server.close(200);
    },
  };
}

export const USER_SERVICE = 'com.example.UserService';

/** A request as a Java 3.x consumer with the target-application Filter sends it. */
export function request(application: string | undefined, method = 'getUser', extra: Record<string, unknown> = {}) {
  const attachments: Record<string, unknown> = {
    path: USER_SERVICE, interface: USER_SERVICE, version: '0.0.0', timeout: '3000', 'remote.application': 'local-consumer', ...extra,
  };
  if (application !== undefined) attachments['target-application'] = application;
  return {service: USER_SERVICE, method, parameterTypes: 'Ljava/lang/String;', args: ['u-1'], attachments};
}
