// Shared setup for the Kubernetes tests: a fake API server, a kubeconfig for it, and a KubeCluster.
import {mkdtempSync, rmSync} from 'node:fs';
import http from 'node:http';
import type {AddressInfo, Socket} from 'node:net';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import type {BackendSource, Wanted} from '../../src/core/backend-source.js';
import {TunnelEventBus} from '../../src/core/events.js';
import type {LogLevel} from '../../src/core/events.js';
import {KubeCluster} from '../../src/kube/cluster.js';
import type {ClusterOptions} from '../../src/kube/cluster.js';
import {openKubeSource} from '../../src/kube/session-source.js';
import type {ExportLearner} from '../../src/learning/export-learner.js';
import type {RouteView} from '../../src/router/route-table.js';
import {RoutePublisher} from '../../src/session/publisher.js';
import type {TestConsumer} from '../support/dubbo-peers.js';
import type {DecodedResponse} from '../support/dubbo-wire.js';
import {FakeKubeApi} from '../support/fake-kube-api.js';
import type {FakeKubeApiOptions} from '../support/fake-kube-api.js';

export interface KubeFixture {
  api: FakeKubeApi;
  dir: string;
  kubeconfig: string;
  events: TunnelEventBus;
  logs: {level: LogLevel; message: string}[];
  open(options?: Partial<ClusterOptions>): Promise<KubeCluster>;
  /**
   * The cluster as `up` routes it: a KubeSource (src/kube/session-source.ts) reporting to the
   * session's RoutePublisher; nothing is watched until start().
   */
  published(options?: PublishedOptions): Promise<Published>;
  /** published(), started with `selection`. */
  serve(selection: Wanted, options?: PublishedOptions): Promise<Published>;
  close(): Promise<void>;
}

export interface PublishedOptions {
  cluster?: Partial<ClusterOptions>;
  /** --route interface -> application. */
  interfaces?: [string, string][];
  learner?: ExportLearner;
}

export interface Published {
  /** What a listener routes by: the publisher's tables. */
  readonly routes: RouteView;
  readonly source: BackendSource;
  start(selection: Wanted): Promise<void>;
  setSelection(selection: Wanted): void;
  /** Closes the source (its watches, backends and cluster) and the publisher. */
  stop(): Promise<void>;
}

export async function startKube(options: FakeKubeApiOptions = {}): Promise<KubeFixture> {
  const api = await FakeKubeApi.start({bookmarkIntervalMs: 0, ...options});
  const dir = mkdtempSync(path.join(tmpdir(), 'dt-kube-'));
  const kubeconfig = api.writeKubeconfig(dir);
  const events = new TunnelEventBus();
  const logs: {level: LogLevel; message: string}[] = [];
  events.on('log', (entry) => logs.push(entry));
  const clusters: KubeCluster[] = [];
  const sources: BackendSource[] = [];
  const published = async ({cluster = {}, interfaces, learner}: PublishedOptions = {}): Promise<Published> => {
    const source = await openKubeSource({kubeconfig, events, env: {}, execStderr: null, qualify: 'none', ...cluster});
    sources.push(source);
    const publisher = new RoutePublisher({events, kinds: [source.kind], choice: 'all', ...(interfaces === undefined ? {} : {interfaces}), learner});
    return {
      routes: publisher.routes,
      source,
      start: (selection) => source.start(selection, (offers) => publisher.report(0, offers)),
      setSelection: (selection) => source.setWanted(selection),
      async stop() {
        await source.close();
        publisher.close();
      },
    };
  };
  return {
    api,
    dir,
    kubeconfig,
    events,
    logs,
    async open(extra = {}) {
      const cluster = await KubeCluster.open({kubeconfig, events, env: {}, execStderr: null, ...extra});
      clusters.push(cluster);
      return cluster;
    },
    published,
    async serve(selection, options) {
      const served = await published(options);
      await served.start(selection);
      return served;
    },
    async close() {
      await Promise.all([...clusters.map((cluster) => cluster.close()), ...sources.map((source) => source.close())]);
      await api.stop();
      rmSync(dir, {recursive: true, force: true});
    },
  };
}

/**
 * An HTTP proxy in front of the fake API server that answers 404 for discovery.k8s.io, like an API
 * server from before EndpointSlices (or a proxy that does not pass the group). Upgrades pass through.
 */
export async function startNoSlicesProxy(target: string): Promise<{url: string; close(): Promise<void>}> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').startsWith('/apis/discovery.k8s.io')) {
      res.writeHead(404, {'Content-Type': 'application/json'});
      res.end(JSON.stringify({kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource'}));
      return;
    }
    const forward = http.request({host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers}, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const out = net.connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let index = 0; index < req.rawHeaders.length; index += 2) lines.push(`${req.rawHeaders[index]}: ${req.rawHeaders[index + 1]}`);
      out.write(`${lines.join('\r\n')}\r\n\r\n`);
      out.write(head);
      out.pipe(socket);
      socket.pipe(out);
    });
    sockets.add(out);
    out.on('close', () => {
      sockets.delete(out);
      socket.destroy();
    });
    out.on('error', () => socket.destroy());
    socket.on('error', () => out.destroy());
    socket.on('close', () => out.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const {port} = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const WHOAMI_SERVICE = 'com.example.UserService';

/** user-rpc's `whoami` by target-application: the provider answers with its pod's name. */
export function callWhoami(consumer: TestConsumer, timeoutMs = 8000): Promise<DecodedResponse> {
  return consumer.call({
    service: WHOAMI_SERVICE, method: 'whoami', parameterTypes: 'Ljava/lang/String;', args: ['u-1'],
    attachments: {path: WHOAMI_SERVICE, interface: WHOAMI_SERVICE, version: '0.0.0', 'target-application': 'user-rpc'},
  }, timeoutMs);
}

/** An answer as one comparable line: `value <v>`, the error's message, or its kind. */
export function answerText(response: DecodedResponse): string {
  return response.kind === 'value' ? `value ${String(response.value)}` : response.kind === 'error' ? response.message : response.kind;
}
