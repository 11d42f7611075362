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
}
