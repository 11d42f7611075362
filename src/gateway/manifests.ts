import {GATEWAY_COMPONENT, GATEWAY_COMPONENT_LABEL} from '../core/applications.js';
import {DEFAULT_ADMIN_PORT, DEFAULT_DRAIN_MS, DEFAULT_GATEWAY_PORT} from './gateway.js';

export interface ManifestOptions {
  /** Where the gateway runs (default dubbo-tunnel). */
  namespace: string;
  /** The image built from the Dockerfile (default dubbo-tunnel:<version>). */
  image: string;
  /** What the gateway discovers: namespaces (none with allNamespaces or namespaceSelector). */
  watchNamespaces: readonly string[];
  allNamespaces: boolean;
  /** --namespace-selector: the namespaces whose labels match (the gateway then also reads Namespaces). */
  namespaceSelector?: string;
}

export const GATEWAY_NAME = GATEWAY_COMPONENT;

/**
 * The least the gateway needs, cluster-wide (it discovers in any namespace it is told and checks
 * every developer): read Services, EndpointSlices and Ingresses with list and watch, and create
 * TokenReviews and SubjectAccessReviews. No pods, no secrets, no port-forwards (it dials pod IPs).
 */
export const GATEWAY_RULES = [
  {apiGroups: [''], resources: ['services'], verbs: ['list', 'watch']},
  {apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch']},
  {apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['list', 'watch']},
  {apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create']},
  {apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create']},
] as const;

/**
 * Only with --namespace-selector: the gateway lists and watches Namespaces to follow their labels.
 * Without a selector it never reads them, so the ClusterRole does not grant it.
 */
export const NAMESPACE_SELECTOR_RULE = {apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch']} as const;

/** terminationGracePeriodSeconds: the drain plus time to close and exit. */
export const TERMINATION_GRACE_SECONDS = Math.ceil(DEFAULT_DRAIN_MS / 1000) + 10;

/**
 * `dubbo-tunnel gateway manifests`: everything to run the gateway, as Kubernetes objects in apply
 * order. Two replicas behind one Service; a laptop port-forwards to one ready pod of it.
 */
export function gatewayManifests(options: ManifestOptions): object[] {
  const {namespace} = options;
  // The component label marks every object as the gateway's: discovery (ls, up, the gateway
  // itself) never lists a Service carrying it as an application.
  const labels = {'app.kubernetes.io/name': GATEWAY_NAME, 'app.kubernetes.io/part-of': 'dubbo-tunnel', [GATEWAY_COMPONENT_LABEL]: GATEWAY_COMPONENT};
  const selector = options.namespaceSelector;
  const scope = selector !== undefined ? [`--namespace-selector=${selector}`]
    : options.allNamespaces ? ['--all-namespaces'] : options.watchNamespaces.map((watched) => `--namespace=${watched}`);
  const args = ['gateway', `--port=${DEFAULT_GATEWAY_PORT}`, `--admin-port=${DEFAULT_ADMIN_PORT}`, ...scope];
  const rules = selector === undefined ? GATEWAY_RULES : [...GATEWAY_RULES, NAMESPACE_SELECTOR_RULE];
  return [
    {apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: GATEWAY_NAME, namespace, labels}},
    {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: {name: GATEWAY_NAME, labels}, rules: rules.map((rule) => ({apiGroups: [...rule.apiGroups], resources: [...rule.resources], verbs: [...rule.verbs]}))},
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: {name: GATEWAY_NAME, labels},
      roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: GATEWAY_NAME},
      subjects: [{kind: 'ServiceAccount', name: GATEWAY_NAME, namespace}],
    },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: GATEWAY_NAME, namespace, labels},
      spec: {
        replicas: 2,
        selector: {matchLabels: labels},
        strategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 0, maxSurge: 1}},
        template: {
          metadata: {labels},
          spec: {
            serviceAccountName: GATEWAY_NAME,
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            securityContext: {runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: {type: 'RuntimeDefault'}},
            containers: [{
              name: 'gateway',
              image: options.image,
              args,
              ports: [{name: 'gateway', containerPort: DEFAULT_GATEWAY_PORT, protocol: 'TCP'}, {name: 'admin', containerPort: DEFAULT_ADMIN_PORT, protocol: 'TCP'}],
              readinessProbe: {httpGet: {path: '/readyz', port: 'admin'}, periodSeconds: 5, failureThreshold: 2},
              livenessProbe: {httpGet: {path: '/healthz', port: 'admin'}, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3},
              resources: {requests: {cpu: '100m', memory: '128Mi'}, limits: {memory: '512Mi'}},
              securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: {drop: ['ALL']}},
            }],
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: {name: GATEWAY_NAME, namespace, labels},
      spec: {selector: labels, ports: [{name: 'gateway', port: DEFAULT_GATEWAY_PORT, targetPort: 'gateway', protocol: 'TCP'}, {name: 'admin', port: DEFAULT_ADMIN_PORT, targetPort: 'admin', protocol: 'TCP'}]},
    },
    {apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: {name: GATEWAY_NAME, namespace, labels}, spec: {minAvailable: 1, selector: {matchLabels: labels}}},
  ];
}
