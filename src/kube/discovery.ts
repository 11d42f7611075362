import type {DiscoveredApplication} from '../core/applications.js';
import {GATEWAY_COMPONENT, GATEWAY_COMPONENT_LABEL} from '../core/applications.js';
import type {LabelSelector} from './label-selector.js';
import {matchesSelector} from './label-selector.js';
import type {Ingress, IngressBackend, Service, ServicePort} from './types.js';

/**
 * Discovery rules as pure functions over API objects: which Ingresses and Services are Dubbo
 * backends, and what application name each one serves. No I/O here; cluster.ts feeds the objects
 * from one-shot lists (`ls`) or live watches (`up`).
 */

export type SourceMode = 'ingress' | 'service' | 'auto';

export const DEFAULT_INGRESS_CLASS = 'dubbo';
export const DEFAULT_APPLICATION_ANNOTATION = 'dubbo-tunnel.io/application';
/** The pre-1.18 way to pick an Ingress class; still honoured by controllers and by us. */
export const LEGACY_INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** Service keys an application exports, for when its providers cannot be asked (src/learning/): `com.foo.A,g/com.foo.B:1.0.0`. */
export const INTERFACES_ANNOTATION = 'dubbo-tunnel.io/interfaces';
/** The pods' QoS port when it is not Dubbo's default 22222 (dubbo.application.qos-port). */
export const QOS_PORT_ANNOTATION = 'dubbo-tunnel.io/qos-port';
export const DEFAULT_QOS_PORT = 22222;
/** Dubbo's default protocol port (dubbo.protocol.port). */
export const DUBBO_DEFAULT_PORT = 20880;
/** Triple's default port (dubbo.protocol.name=tri), which is also gRPC's customary one. */
export const TRIPLE_DEFAULT_PORT = 50051;

export interface DiscoveryRules {
  source: SourceMode;
  ingressClass: string;
  applicationAnnotation: string;
  /**
   * -l: only applications whose labels match count: a Service's own labels; for an application named
   * by an Ingress, the Ingress's labels together with its backend Service's (the Ingress's win).
   */
  selector?: LabelSelector;
}

export interface ResolvedServicePort {
  /** The Service port's name; slices name their ports after it ('' when unnamed). */
  name: string | undefined;
  port: number;
  targetPort: number | string | undefined;
}

/** A discovered application with what the backend needs to reach it. */
export interface KubeApplication extends DiscoveredApplication {
  namespace: string;
  source: 'ingress' | 'service';
  /** Where it was found, for logs: `ingress dev/user-rpc` or `service dev/user-rpc`. */
  origin: string;
  /** The Service port (Dubbo), when the Service exists and has that port. */
  servicePort?: ResolvedServicePort;
  /** The Service's Triple (HTTP/2, gRPC-compatible) port, when it has one: where HTTP/2 streams go. */
  triplePort?: ResolvedServicePort;
  /** The Service's pod selector (for `kubectl get pods -l ...` hints). */
  podSelector?: Record<string, string>;
  /** Why this application cannot be reached as found (Service missing, port missing). */
  problem?: string;
  /** Service keys from the `dubbo-tunnel.io/interfaces` annotation (Ingress and Service together). */
  interfaces?: string[];
  /** From the `dubbo-tunnel.io/qos-port` annotation. */
  qosPort?: number;
}

/** The discovery annotations of one object: declared interfaces and the QoS port. */
function declaredOf(...objects: (Service | Ingress | undefined)[]): Pick<KubeApplication, 'interfaces' | 'qosPort'> {
  const interfaces: string[] = [];
  let qosPort: number | undefined;
  for (const object of objects) {
    const annotations = object?.metadata?.annotations;
    for (const item of (annotations?.[INTERFACES_ANNOTATION] ?? '').split(',')) {
      const name = item.trim();
      if (name !== '' && !interfaces.includes(name)) interfaces.push(name);
    }
    const port = Number(annotations?.[QOS_PORT_ANNOTATION]?.trim());
    if (qosPort === undefined && Number.isInteger(port) && port > 0 && port < 65536) qosPort = port;
  }
  return {...(interfaces.length > 0 ? {interfaces} : {}), ...(qosPort === undefined ? {} : {qosPort})};
}

export function ingressMatchesClass(ingress: Ingress, ingressClass: string): boolean {
  return ingress.spec?.ingressClassName === ingressClass || ingress.metadata?.annotations?.[LEGACY_INGRESS_CLASS_ANNOTATION] === ingressClass;
}

/** The Service port that carries Dubbo: named `dubbo`, else `dubbo-*`, else appProtocol dubbo, else 20880. */
export function dubboPortOf(service: Service): ServicePort | undefined {
  const ports = (service.spec?.ports ?? []).filter((port) => (port.protocol ?? 'TCP') === 'TCP');
  return ports.find((port) => port.name === 'dubbo')
    ?? ports.find((port) => port.name?.startsWith('dubbo-') === true)
    ?? ports.find((port) => port.appProtocol === 'dubbo')
    ?? ports.find((port) => port.port === DUBBO_DEFAULT_PORT)
    ?? ports.find((port) => port.targetPort === DUBBO_DEFAULT_PORT);
}

/** A Triple port: named `tri`, `triple`, `grpc`, `tri-*` or `grpc-*`, else numbered 50051. Never the Dubbo port. */
export function triplePortOf(service: Service, dubbo = dubboPortOf(service)): ServicePort | undefined {
  const ports = (service.spec?.ports ?? []).filter((port) => (port.protocol ?? 'TCP') === 'TCP' && port !== dubbo);
  return ports.find((port) => isTriplePortName(port.name))
    ?? ports.find((port) => port.port === TRIPLE_DEFAULT_PORT);
}

function isTriplePortName(name: string | undefined): boolean {
  return name !== undefined && (['tri', 'triple', 'grpc'].includes(name) || name.startsWith('tri-') || name.startsWith('grpc-'));
}

/** Whether a port an Ingress names is a Triple port (by name, or by number when unnamed). */
function isTriplePort(port: ServicePort): boolean {
  return isTriplePortName(port.name) || ((port.name ?? '') === '' && port.port === TRIPLE_DEFAULT_PORT);
}

function resolvePort(port: ServicePort): ResolvedServicePort {
  return {name: port.name === '' ? undefined : port.name, port: port.port, targetPort: port.targetPort};
}

function annotationOf(object: Service | Ingress, rules: DiscoveryRules): string | undefined {
  const value = object.metadata?.annotations?.[rules.applicationAnnotation]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Whether a Service is a dubbo-tunnel gateway's own (by the label its manifests carry). */
export function isGatewayService(service: Service): boolean {
  return service.metadata?.labels?.[GATEWAY_COMPONENT_LABEL] === GATEWAY_COMPONENT;
}

/** The application a Service offers, when it has a Dubbo port (and matches -l). */
export function applicationFromService(service: Service, rules: DiscoveryRules): KubeApplication | undefined {
  const namespace = service.metadata?.namespace ?? 'default';
  const name = service.metadata?.name;
  if (name === undefined || service.spec?.type === 'ExternalName') return undefined;
  if (isGatewayService(service)) return undefined;
  if (rules.selector !== undefined && !matchesSelector(rules.selector, service.metadata?.labels)) return undefined;
  const port = dubboPortOf(service);
  const triple = triplePortOf(service, port);
  if (!port && !triple) return undefined;
  const servicePort = port ? resolvePort(port) : undefined;
  const triplePort = triple ? resolvePort(triple) : undefined;
  const shown = servicePort ?? triplePort;
  return {
    application: annotationOf(service, rules) ?? name,
    namespace,
    service: name,
    port: shown?.name ?? shown?.port ?? DUBBO_DEFAULT_PORT,
    source: 'service',
    origin: `service ${namespace}/${name}`,
    ...(servicePort ? {servicePort} : {}),
    ...(triplePort ? {triplePort} : {}),
    podSelector: service.spec?.selector,
    ...declaredOf(service),
  };
}

/**
 * The applications one Ingress of our class names: one per rule host (host = application name,
 * unless the annotation says otherwise), backend = the first path's Service, or the Ingress's
 * defaultBackend for a rule without `http` (and for an Ingress that has only a defaultBackend).
 */
export function applicationsFromIngress(ingress: Ingress, services: ReadonlyMap<string, Service>, rules: DiscoveryRules): {applications: KubeApplication[]; warnings: string[]} {
  const namespace = ingress.metadata?.namespace ?? 'default';
  const ingressName = ingress.metadata?.name ?? '';
  const origin = `ingress ${namespace}/${ingressName}`;
  const warnings: string[] = [];
  const found: {host: string | undefined; backend: IngressBackend | undefined}[] = [];
  const specRules = ingress.spec?.rules ?? [];
  if (specRules.length === 0) {
    found.push({host: undefined, backend: ingress.spec?.defaultBackend});
  }
  for (const rule of specRules) {
    const paths = rule.http?.paths ?? [];
    if (paths.length > 1) warnings.push(`${origin}: rule ${rule.host ?? '(no host)'} has ${paths.length} paths; Dubbo has no paths, using the first`);
    found.push({host: rule.host, backend: paths[0]?.backend ?? ingress.spec?.defaultBackend});
  }
  const annotation = annotationOf(ingress, rules);
  if (annotation !== undefined && found.length > 1) {
    warnings.push(`${origin}: annotation ${rules.applicationAnnotation} is ignored because the Ingress has ${found.length} hosts; use one Ingress per application`);
  }
  const applications: KubeApplication[] = [];
  for (const {host, backend} of found) {
    if (host?.startsWith('*') === true) {
      warnings.push(`${origin}: wildcard host ${host} cannot name a Dubbo application; skipped`);
      continue;
    }
    const application = (found.length === 1 ? annotation : undefined) ?? (host === undefined || host === '' ? ingressName : host);
    const serviceName = backend?.service?.name;
    if (serviceName === undefined || serviceName === '') {
      warnings.push(`${origin}: ${application} has no Service backend${backend?.resource ? ' (resource backends are not supported)' : ''}; skipped`);
      continue;
    }
    const wanted = backend?.service?.port;
    const portLabel: number | string = wanted?.name ?? wanted?.number ?? DUBBO_DEFAULT_PORT;
    const base = {application, namespace, service: serviceName, port: portLabel, source: 'ingress' as const, origin};
    const service = services.get(key(namespace, serviceName));
    if (rules.selector !== undefined && !matchesSelector(rules.selector, {...service?.metadata?.labels, ...ingress.metadata?.labels})) continue;
    if (!service) {
      applications.push({...base, problem: `service ${namespace}/${serviceName} (named by ${origin}) does not exist`});
      continue;
    }
    const ports = service.spec?.ports ?? [];
    const port = wanted?.name !== undefined && wanted.name !== ''
      ? ports.find((candidate) => candidate.name === wanted.name)
      : ports.find((candidate) => candidate.port === (wanted?.number ?? DUBBO_DEFAULT_PORT)) ?? (wanted?.number === undefined && ports.length === 1 ? ports[0] : undefined);
    if (!port) {
      applications.push({...base, podSelector: service.spec?.selector, problem: `service ${namespace}/${serviceName} has no port ${String(portLabel)} (named by ${origin})`});
      continue;
    }
    // The port the Ingress names is one of the application's two; the Service's other one comes along.
    if (isTriplePort(port)) {
      const dubbo = dubboPortOf(service);
      applications.push({...base, ...(dubbo ? {servicePort: resolvePort(dubbo)} : {}), triplePort: resolvePort(port), podSelector: service.spec?.selector, ...declaredOf(ingress, service)});
    } else {
      const triple = triplePortOf(service, port);
      applications.push({...base, servicePort: resolvePort(port), ...(triple ? {triplePort: resolvePort(triple)} : {}), podSelector: service.spec?.selector, ...declaredOf(ingress, service)});
    }
  }
  return {applications, warnings};
}

export interface ResolveInput {
  ingresses: Iterable<Ingress>;
  services: Iterable<Service>;
  rules: DiscoveryRules;
  /** With -A: where an application name found in several namespaces is taken from (the context's namespace). */
  preferredNamespace?: string;
  /**
   * Keep one entry per namespace for a name found in several (a session shows such a clash and lets
   * the user choose); by default the preferred namespace's entry is kept and the others are named in a warning.
   */
  everyNamespace?: boolean;
}

/**
 * Every application the rules find, one entry per application name, sorted by name. Conflicts are
 * settled deterministically and reported as warnings:
 * - same namespace, Ingress and Service: the Ingress wins (it was written for dubbo-tunnel);
 * - same namespace and source: the object whose name sorts first wins;
 * - several namespaces (-A): the preferred namespace wins, else the namespace that sorts first.
 */
export function resolveApplications(input: ResolveInput): {applications: KubeApplication[]; warnings: string[]} {
  const {rules} = input;
  const services = new Map<string, Service>();
  for (const service of input.services) services.set(key(service.metadata?.namespace ?? 'default', service.metadata?.name ?? ''), service);
  const warnings: string[] = [];
  const candidates: KubeApplication[] = [];
  if (rules.source !== 'service') {
    for (const ingress of sortByKey([...input.ingresses])) {
      if (!ingressMatchesClass(ingress, rules.ingressClass)) continue;
      const result = applicationsFromIngress(ingress, services, rules);
      candidates.push(...result.applications);
      warnings.push(...result.warnings);
    }
  }
  if (rules.source !== 'ingress') {
    for (const service of sortByKey([...services.values()])) {
      const application = applicationFromService(service, rules);
      if (application) candidates.push(application);
    }
  }
  // Settle per namespace first, then across namespaces.
  const perNamespace = new Map<string, KubeApplication>();
  for (const candidate of candidates) {
    const id = `${candidate.namespace}\u0000${candidate.application}`;
    const existing = perNamespace.get(id);
    if (!existing) {
      perNamespace.set(id, candidate);
    } else if (existing.source === candidate.source) {
      warnings.push(`application ${candidate.application} is named by both ${existing.origin} and ${candidate.origin}; using ${existing.origin}`);
    }
    // An Ingress candidate always comes before Service candidates of its namespace (added first),
    // so a Service naming the same application is simply shadowed, as documented.
  }
  const byName = new Map<string, KubeApplication[]>();
  for (const candidate of perNamespace.values()) {
    const list = byName.get(candidate.application) ?? [];
    list.push(candidate);
    byName.set(candidate.application, list);
  }
  const applications: KubeApplication[] = [];
  for (const [name, list] of byName) {
    list.sort((a, b) => rank(a, input.preferredNamespace) - rank(b, input.preferredNamespace) || a.namespace.localeCompare(b.namespace));
    const chosen = list[0];
    if (!chosen) continue;
    if (input.everyNamespace === true) {
      applications.push(...list);
      continue;
    }
    if (list.length > 1) {
      warnings.push(`application ${name} exists in namespaces ${list.map((entry) => entry.namespace).join(', ')}; using ${chosen.namespace} (pass -n to pick another)`);
    }
    applications.push(chosen);
  }
  // Stable: with everyNamespace the preferred namespace stays first among entries of one name.
  applications.sort((a, b) => a.application.localeCompare(b.application));
  return {applications, warnings};
}

function rank(application: KubeApplication, preferred: string | undefined): number {
  return application.namespace === preferred ? 0 : 1;
}

function sortByKey<T extends Service | Ingress>(objects: T[]): T[] {
  return objects.sort((a, b) => key(a.metadata?.namespace ?? '', a.metadata?.name ?? '').localeCompare(key(b.metadata?.namespace ?? '', b.metadata?.name ?? '')));
}

/**
 * A stable identity for "the same backend": a route table swap keeps a backend (and its open streams)
 * whose key did not change. Where it was found is part of it, so the backend's description stays true.
 */
export function applicationKey(application: KubeApplication): string {
  return JSON.stringify([application.application, application.origin, application.namespace, application.service, application.port,
    application.servicePort ?? null, application.problem ?? null, application.podSelector ?? null, application.triplePort ?? null,
    application.interfaces ?? null, application.qosPort ?? null]);
}
