/** One provider application the user can route to, as discovery (or --backend) found it. */
export interface DiscoveredApplication {
  /** The Dubbo application name (what `target-application` carries). */
  application: string;
  /** Kubernetes namespace; undefined for static backends. */
  namespace?: string;
  /** The Service behind it; for static backends the `host:port`. */
  service: string;
  /** Service port (number or name) the tunnel targets. */
  port: number | string;
  source: 'ingress' | 'service' | 'static';
  /** Ready pods right now; undefined when not known (static backends). */
  readyPods?: number;
  /**
   * Where it comes from in a session with several places (`local`, a namespace, a context, or
   * `context/namespace`): the part after `@` in a qualified name such as `user-rpc@staging`.
   * Undefined when the session has only one place to look.
   */
  where?: string;
}

/**
 * The label `dubbo-tunnel gateway manifests` puts on the team gateway's objects. The gateway's
 * Service listens on 20880 like a provider, so discovery never takes a Service carrying it for an
 * application: a gateway discovering in its own namespace (or `ls`/`up` there) would offer itself.
 */
export const GATEWAY_COMPONENT_LABEL = 'app.kubernetes.io/component';
export const GATEWAY_COMPONENT = 'dubbo-tunnel-gateway';

/**
 * A choice names an application (`user-rpc`) or one of several places offering that name
 * (`user-rpc@staging`). Application names never contain `@`; places may (`admin@cluster` contexts).
 */
export function parseChoice(entry: string): {application: string; where: string | undefined} {
  const at = entry.indexOf('@');
  return at <= 0 ? {application: entry, where: undefined} : {application: entry.slice(0, at), where: entry.slice(at + 1)};
}

/** `user-rpc@staging`, or the bare name when there is no place to name. */
export function qualifiedName(application: string, where: string | undefined): string {
  return where === undefined ? application : `${application}@${where}`;
}
