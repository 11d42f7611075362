import http from 'node:http';
import {Counter, Gauge, Histogram, Registry} from 'prom-client';
import {errorMessage} from '../core/errors.js';
import type {TunnelEventBus} from '../core/events.js';

/** What /readyz and /metrics read from the running gateway. */
export interface AdminState {
  /** The first discovery completed and the gateway is not draining. */
  ready(): boolean;
  /** Dubbo streams open to providers (shared by every laptop). */
  upstreams(): number;
  /** Applications routed right now. */
  applications(): number;
  /** Laptops whose hello succeeded and whose stream is open. */
  laptops(): number;
}

/**
 * The gateway's metrics, folded from the event bus: every request and HTTP/2 stream answered, its
 * errors by code (a dubbo-tunnel code, else the Dubbo or gRPC status name) and its latency; and the
 * gauges read when scraped. Labels never carry a user, a token or a request's content.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'protocol' | 'outcome'>;
  readonly #errors: Counter<'code'>;
  readonly #latency: Histogram<'protocol'>;
  readonly #unsubscribe: () => void;

  constructor(events: TunnelEventBus, state: AdminState) {
    const registers = [this.registry];
    this.#requests = new Counter({name: 'dubbo_tunnel_gateway_requests_total', help: 'Requests (Dubbo) and streams (Triple/gRPC) answered, by protocol and outcome (ok or error).', labelNames: ['protocol', 'outcome'], registers});
    this.#errors = new Counter({name: 'dubbo_tunnel_gateway_errors_total', help: 'Requests answered with an error, by code: a dubbo-tunnel code (DT_ERR_…), else the status name.', labelNames: ['code'], registers});
    this.#latency = new Histogram({
      name: 'dubbo_tunnel_gateway_request_duration_seconds',
      help: 'Time from a request arriving to its answer being sent on, by protocol.',
      labelNames: ['protocol'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({name: 'dubbo_tunnel_gateway_upstreams', help: 'Dubbo streams open to provider pods, shared by every connected laptop.', registers, collect() {
      this.set(state.upstreams());
    }});
    new Gauge({name: 'dubbo_tunnel_gateway_applications', help: 'Applications routed right now.', registers, collect() {
      this.set(state.applications());
    }});
    new Gauge({name: 'dubbo_tunnel_gateway_laptops_connected', help: 'Laptop streams open whose hello was accepted.', registers, collect() {
      this.set(state.laptops());
    }});
    new Gauge({name: 'dubbo_tunnel_gateway_ready', help: '1 once the first discovery completed, 0 before it and while draining.', registers, collect() {
      this.set(state.ready() ? 1 : 0);
    }});
    const listener = (completed: {protocol?: 'dubbo' | 'triple'; ok: boolean; code?: string; statusName?: string; status?: number; latencyMs: number; oneWay: boolean}): void => {
      const protocol = completed.protocol ?? 'dubbo';
      this.#requests.inc({protocol, outcome: completed.ok ? 'ok' : 'error'});
      if (!completed.ok) this.#errors.inc({code: completed.code ?? completed.statusName ?? `status ${String(completed.status)}`});
      if (!completed.oneWay) this.#latency.observe({protocol}, completed.latencyMs / 1000);
    };
    events.on('request-completed', listener);
    this.#unsubscribe = () => events.off('request-completed', listener);
  }

  close(): void {
    this.#unsubscribe();
  }
}

/** The admin port: /healthz (the process answers), /readyz (AdminState.ready), /metrics (Prometheus text). */
export async function startAdminServer(options: {port: number; host?: string; state: AdminState; metrics: GatewayMetrics; events: TunnelEventBus}): Promise<{port: number; close(): Promise<void>}> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, {'content-type': type, 'cache-control': 'no-store'});
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, 'only GET\n');
      return;
    }
    if (path === '/healthz') {
      send(200, 'ok\n');
    } else if (path === '/readyz') {
      if (options.state.ready()) send(200, 'ready\n');
      else send(503, 'not ready: discovering, or draining\n');
    } else if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => send(200, text, options.metrics.registry.contentType),
        (error: unknown) => send(500, `metrics failed: ${errorMessage(error)}\n`),
      );
    } else {
      send(404, 'not found: /healthz, /readyz, /metrics\n');
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({port: options.port, host: options.host ?? '0.0.0.0'}, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => options.events.log('error', `admin port: ${errorMessage(error)}`));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : options.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
