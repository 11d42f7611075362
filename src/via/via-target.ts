import {DubboTunnelError} from '../core/errors.js';
import {formatHostPort} from '../core/host-port.js';

/** Where `up --via` reaches the team gateway. */
export type ViaTarget =
  /** A Service of the cluster: one port-forward to a ready pod of it (its Dubbo port unless `port` names one). */
  | {kind: 'service'; namespace: string; service: string; port: number | string | undefined}
  /** An address the platform exposes the gateway on (a TCP load balancer). */
  | {kind: 'address'; host: string; port: number};

const EXAMPLES = 'for example --via shop-gw/dubbo-gateway, --via shop-gw/dubbo-gateway:20880 or --via gateway.example.com:20880';
/** A DNS-1123 label: what namespaces and Service names are. */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Parses `<namespace>/<service>[:port]` or `<host>:<port>`; throws DT_ERR_BAD_ARGUMENT saying what is wrong. */
export function parseViaTarget(text: string): ViaTarget {
  const value = text.trim();
  const bad = (why: string): DubboTunnelError => new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--via '${text}': ${why}`, {hint: EXAMPLES});
  if (value === '') throw bad('needs <namespace>/<service> or <host>:<port>');
  const slash = value.indexOf('/');
  if (slash >= 0) {
    const namespace = value.slice(0, slash);
    const rest = value.slice(slash + 1);
    const colon = rest.indexOf(':');
    const service = colon < 0 ? rest : rest.slice(0, colon);
    const portText = colon < 0 ? undefined : rest.slice(colon + 1);
    if (!LABEL.test(namespace)) throw bad(`'${namespace}' is not a namespace name`);
    if (!LABEL.test(service)) throw bad(`'${service}' is not a Service name`);
    if (portText === undefined) return {kind: 'service', namespace, service, port: undefined};
    if (/^\d+$/.test(portText)) return {kind: 'service', namespace, service, port: portNumber(portText, bad)};
    if (!LABEL.test(portText)) throw bad(`'${portText}' is neither a port number nor a port name`);
    return {kind: 'service', namespace, service, port: portText};
  }
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  const plain = /^([^:\s]+):(\d+)$/.exec(value);
  const match = bracketed ?? plain;
  if (match?.[1] === undefined || match[2] === undefined) {
    throw bad(value.includes(':') ? 'the port must be a number' : 'a host needs its port (<host>:<port>), a Service its namespace (<namespace>/<service>)');
  }
  return {kind: 'address', host: match[1], port: portNumber(match[2], bad)};
}

function portNumber(text: string, bad: (why: string) => DubboTunnelError): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${text} is out of range: expected 1-65535`);
  return port;
}

/** How the gateway is named in titles and places: `shop-gw/dubbo-gateway`, `10.0.0.5:20880`. */
export function describeViaTarget(target: ViaTarget): string {
  if (target.kind === 'address') return formatHostPort(target.host, target.port);
  return `${target.namespace}/${target.service}${target.port === undefined ? '' : `:${String(target.port)}`}`;
}
