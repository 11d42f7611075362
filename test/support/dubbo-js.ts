// A real Node Dubbo consumer library (apache-dubbo-consumer, the dubbo-js dubbo2 line) for the tests
// that run one. It is not a dependency: CI installs it into a temporary directory and points
// DUBBO_TUNNEL_DUBBO_JS_DIR at it; without it those tests are skipped with this hint.
import {createRequire} from 'node:module';
import path from 'node:path';
import {ROOT} from './binary.js';

export const DUBBO_JS_HINT = 'apache-dubbo-consumer (dubbo-js, dubbo2 line) is not installed; to run this check: '
  + 'npm install --no-save apache-dubbo-consumer@4.0.0, or install it anywhere and set DUBBO_TUNNEL_DUBBO_JS_DIR to that directory';

/** A require() that finds apache-dubbo-consumer, or the reason it cannot. */
export function loadDubboJs(): ((id: string) => unknown) | string {
  const dirs = [process.env['DUBBO_TUNNEL_DUBBO_JS_DIR'], ROOT].filter((d): d is string => d !== undefined && d !== '');
  for (const dir of dirs) {
    const require = createRequire(path.join(path.resolve(dir), 'noop.js'));
    try {
      require.resolve('apache-dubbo-consumer');
      return (id: string) => require(id) as unknown;
    } catch {
      // try the next place
    }
  }
  return DUBBO_JS_HINT;
}

/** What the tests use of a dubbo-js instance while it builds its services. */
export interface DubboInstance {
  proxyService(options: {dubboInterface: string; methods: Record<string, (...args: string[]) => unknown[]>}): unknown;
}

/** What the tests use of apache-dubbo-consumer; `Services` is the `service` object a test builds. */
export interface DubboJs<Services> {
  Dubbo: {from(options: unknown): {
    use(middleware: (ctx: {attachments: Record<string, string>}, next: () => Promise<void>) => Promise<void>): void;
    service: Services;
    close(): void;
  }};
  java: {String(value: string): unknown};
}

interface Subscriber {
  onData(urls: Map<string, string[]>): void;
}

/**
 * The registry object docs/consumers.md shows in place of ZooKeeper: every interface a dubbo-js
 * consumer registers is at `address` (the tunnel's port).
 */
export function registryAt(address: string): object {
  const subscribers: Subscriber[] = [];
  return {
    ready: () => Promise.resolve(),
    subscribe(subscriber: Subscriber) {
      subscribers.push(subscriber);
      return this;
    },
    registerConsumers(consumers: {dubboServiceInterface: string}[]) {
      const urls = new Map(consumers.map(({dubboServiceInterface: name}) => [name, [`dubbo://${address}/${name}?version=0.0.0`]]));
      for (const subscriber of subscribers) subscriber.onData(urls);
      return Promise.resolve();
    },
    close() {},
  };
}
