/**
 * What `dubbo-tunnel doctor` checks, as data: each check's title, what it verifies, and the
 * problems it can report with their fixes. The checks (checks.ts) report a problem by its id, so
 * the words a user sees in the terminal and in docs/troubleshooting.md (rendered from this file by
 * scripts/troubleshooting.ts) are the same words.
 */

export type CheckId = 'node' | 'kubeconfig' | 'credentials' | 'api-server' | 'permissions' | 'backends' | 'gateway' | 'gateway-access' | 'port' | 'consumer-address';

export interface Problem {
  readonly id: string;
  /** What the doctor line says, in general terms (the real line names files, contexts, addresses). */
  readonly symptom: string;
  /** What to do. The real line may give a more specific fix (the exact Role rule, a free port). */
  readonly fix: string;
  /** A warning (`!`): dubbo-tunnel works, but something is off. Default: a failure (`✗`). */
  readonly warning?: boolean;
}

export interface CheckDefinition {
  readonly id: CheckId;
  /** Short, for the doctor's line. */
  readonly title: string;
  /** One paragraph: what is checked and how. */
  readonly verifies: string;
  readonly problems: readonly Problem[];
}

export const MINIMUM_NODE = '20.19';

export const CATALOGUE: readonly CheckDefinition[] = [
  {
    id: 'node',
    title: 'Node.js',
    verifies: `The Node.js that runs dubbo-tunnel is ${MINIMUM_NODE} or newer, the oldest version its dependencies support.`,
    problems: [
      {id: 'too-old', symptom: `Node.js is older than ${MINIMUM_NODE}`, fix: 'install a current Node.js LTS (https://nodejs.org, or `nvm install --lts`) and run dubbo-tunnel with it'},
    ],
  },
  {
    id: 'kubeconfig',
    title: 'kubeconfig',
    verifies: 'A kubeconfig is found the way kubectl finds it (`--kubeconfig`, else every file listed in `KUBECONFIG`, else `~/.kube/config`), and the context (`--context`, else its current-context) exists and names a cluster with a server URL. The line shows the file, the context, the namespace that will be searched and the API server.',
    problems: [
      {id: 'missing', symptom: 'no kubeconfig found (looked at ~/.kube/config), or the file given to --kubeconfig or in KUBECONFIG does not exist or is empty', fix: 'point `KUBECONFIG` or `--kubeconfig` at your cluster\'s kubeconfig, or create `~/.kube/config` (e.g. with your cloud CLI\'s get-credentials command)'},
      {id: 'unreadable', symptom: 'cannot read kubeconfig <file>: <YAML error>', fix: 'fix the file; `kubectl config view` shows what kubectl makes of it'},
      {id: 'context', symptom: 'context \'<name>\' is not in the kubeconfig, or the kubeconfig sets no current-context', fix: 'pass one of the known contexts (listed on the line) with `--context <name>`, or run `kubectl config use-context <name>`'},
      {id: 'cluster', symptom: 'the context refers to a cluster the kubeconfig does not define, or one without a server URL', fix: 'repair the entry with `kubectl config set-context` / `kubectl config set-cluster <name> --server=https://...`, or fetch a fresh kubeconfig'},
    ],
  },
  {
    id: 'credentials',
    title: 'credentials',
    verifies: 'The credentials of the context can be obtained before any request: an exec plugin (kubelogin, aws, gke-gcloud-auth-plugin, ...) is run once, with its own messages shown as it prints them, or a token, client certificate or password is taken from the kubeconfig.',
    problems: [
      {id: 'plugin-missing', symptom: 'the exec plugin named in the kubeconfig (users[].user.exec.command) is not installed or not on PATH', fix: 'install that plugin, or put its directory on PATH, then run doctor again'},
      {id: 'plugin-failed', symptom: 'cannot get credentials for context \'<name>\': <the plugin\'s message>', fix: 'run `kubectl --context <name> get ns` to log in (or read the plugin\'s message above), then run doctor again'},
      {id: 'plugin-timeout', symptom: 'the credentials plugin <name> gave no answer within N s (a login nobody completed, a prompt, a hung network call)', fix: 'run `kubectl --context <name> get ns` to see what the plugin waits for and complete it, then run doctor again; `--timeout <ms>` (doctor) or `DUBBO_TUNNEL_EXEC_TIMEOUT_MS` (ls, up; default 60000) gives it longer'},
      {id: 'anonymous', warning: true, symptom: 'the context has no user credentials: requests are anonymous', fix: 'most clusters refuse anonymous requests; get a kubeconfig whose user has a token, client certificate or exec plugin'},
    ],
  },
  {
    id: 'api-server',
    title: 'API server',
    verifies: 'The API server of the context answers `GET /version` in time. The line shows how long the answer took and the Kubernetes version.',
    problems: [
      {id: 'unreachable', symptom: 'cannot reach the API server https://...: connection refused / host name not found / timed out (after N ms)', fix: 'check that the cluster is running and reachable from this machine (VPN, proxy, firewall), or pick another context with `--context`'},
      {id: 'tls', symptom: 'TLS to the API server failed: <certificate error>', fix: 'the certificate authority in the kubeconfig does not match the server: fetch a fresh kubeconfig for this cluster'},
      {id: 'unauthorized', symptom: 'the API server rejected the credentials (401 Unauthorized)', fix: 'the token or certificate expired: log in again (your cloud CLI\'s get-credentials, kubelogin, or a fresh token)'},
      {id: 'error', symptom: 'GET /version failed with another HTTP status', fix: 'the API server reported an error; check the cluster (or the proxy in front of it)'},
    ],
  },
  {
    id: 'permissions',
    title: 'permissions',
    verifies: 'A SelfSubjectAccessReview (what `kubectl auth can-i` asks) for every request dubbo-tunnel makes, in the namespace it searches (cluster-wide with `-A`): `list` and `watch` on ingresses.networking.k8s.io (unless `--source service`), services and endpointslices.discovery.k8s.io, and `get` and `create` on pods/portforward. Printed as a table.',
    problems: [
      {id: 'denied', symptom: 'not allowed: <verb> <resource> in namespace <ns> (table rows marked NO)', fix: 'add the rules doctor prints to a Role bound to you in that namespace (a ClusterRole with a ClusterRoleBinding for `-A`); docs/kubernetes.md#permissions-rbac has the whole Role'},
      {id: 'port-forward', symptom: 'get or create on pods/portforward is not allowed', fix: 'port-forward needs both `get` and `create` on pods/portforward (Kubernetes 1.35+ checks `create` for WebSocket port-forwards): add `{apiGroups: [""], resources: ["pods/portforward"], verbs: ["get", "create"]}` to the Role'},
      {id: 'ingresses', warning: true, symptom: 'list/watch on ingresses is not allowed (with --source auto)', fix: 'dubbo-tunnel still finds applications through Services; add `{apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch"]}` to the Role, or pass `--source service` to stop looking at Ingresses'},
      {id: 'unchecked', warning: true, symptom: 'cannot check permissions: the SelfSubjectAccessReview itself failed', fix: 'the cluster does not answer access reviews for you; `dubbo-tunnel ls` then shows whether listing works'},
    ],
  },
  {
    id: 'backends',
    title: 'Dubbo backends',
    verifies: 'Discovery, the same code `ls` and `up` use, finds Dubbo applications in the namespace: Ingresses of the Dubbo class (`--ingress-class`, default dubbo) and Services with a port named `dubbo` or `dubbo-*` (or port 20880). The line lists them with their ready pods.',
    problems: [
      {id: 'none', symptom: 'no Dubbo backends found in namespace <ns> (searched ...)', fix: 'mark a backend: name its Service port `dubbo`, or create an Ingress with `ingressClassName: dubbo` and the application name as host; or look in another namespace with `-n` or `-A` (see docs/kubernetes.md)'},
      {id: 'no-namespace', symptom: 'namespace <ns> does not exist', fix: 'check the name with `kubectl get namespaces` and pass the right one with `-n`'},
      {id: 'failed', symptom: 'discovery failed: <error>', fix: 'see the permissions and API server checks above; the error names what failed'},
      {id: 'not-ready', warning: true, symptom: 'an application has no ready pods, or its Ingress names a Service or port that does not exist', fix: 'check its pods with `kubectl get pods -n <ns> -l <selector>` (crashing, not ready, scaled to zero) and the Ingress backend\'s Service name and port'},
    ],
  },
  {
    id: 'gateway',
    title: 'team gateway',
    verifies: 'With `--via`: the team gateway is reached the way `up --via` reaches it (a port-forward to a ready pod of its Service, or TCP to `host:port`), and its hello, carrying the bearer token your kubeconfig user yields, is answered: the gateway checked the token with a TokenReview. The line shows where the gateway was reached and the user it knows you as. Only with `--via`.',
    problems: [
      {id: 'no-token', symptom: 'the kubeconfig user yields no bearer token (it authenticates with a client certificate or basic auth)', fix: 'use a context whose user logs in with an exec plugin or OIDC (your cloud CLI, kubelogin), or a service-account token (`kubectl create token <service-account> -n <namespace>`, then `kubectl config set-credentials <user> --token=<token>`); see docs/team-mode.md'},
      {id: 'unreachable', symptom: 'cannot reach the gateway: no such Service, no ready pod, the port-forward refused, or nothing listens at host:port', fix: 'check the gateway\'s pods (`kubectl get pods -n <namespace> -l app.kubernetes.io/component=dubbo-tunnel-gateway`) and that you may port-forward to them (`kubectl auth can-i create pods/portforward -n <namespace>`), or the address given to --via'},
      {id: 'unauthenticated', symptom: 'the gateway did not accept the token (its TokenReview said invalid or expired)', fix: 'log in again with your cluster\'s tool; `kubectl auth whoami` shows whether the credential works'},
      {id: 'not-a-gateway', symptom: 'something answers there, but not a dubbo-tunnel gateway (a Dubbo provider, another server), or a gateway of another protocol version', fix: 'point --via at the gateway\'s Service (the one `dubbo-tunnel gateway manifests` creates, port `gateway`), and use the dubbo-tunnel version the gateway runs'},
    ],
  },
  {
    id: 'gateway-access',
    title: 'gateway access',
    verifies: 'With `--via`: the catalog the gateway answers the hello with. It lists the applications you may use, and the namespaces whose applications you may not use, each with how many there are and the permission you lack (`get services` in that namespace; the gateway asks with a SubjectAccessReview). The names of applications you may not use are withheld. Only with `--via`.',
    problems: [
      {id: 'refused', warning: true, symptom: 'you may not use the applications of some namespaces the gateway routes (the line names the namespaces and the missing permission)', fix: 'check with `kubectl auth can-i get services -n <namespace>`, and ask for a RoleBinding that grants it (docs/team-mode.md, Access)'},
      {id: 'unchecked', warning: true, symptom: 'the gateway could not check your permission in some namespaces just now', fix: 'run doctor again in a moment; if it stays, the gateway cannot reach the API server for its SubjectAccessReviews (its log says why)'},
      {id: 'none', symptom: 'the gateway routes no application you may use', fix: 'ask for `get services` in the namespaces of the applications you need (docs/team-mode.md, Access), or check that the gateway discovers them (`--namespace`, `--namespace-selector` of its Deployment)'},
    ],
  },
  {
    id: 'port',
    title: 'local port',
    verifies: 'dubbo-tunnel can listen on the local port (`--port`, `DUBBO_TUNNEL_PORT` or the saved setting, default 20880) exactly as `up` does: on all of this machine\'s addresses, or on `--host`. When the port is taken, doctor says whether a Dubbo server answers there and suggests a free port.',
    problems: [
      {id: 'in-use', symptom: 'port 20880 is already in use by another process', fix: 'stop the other process (`lsof -i :20880` shows it; often an earlier `dubbo-tunnel up` or a provider started on this machine), or use another port with `--port <port>` (doctor names a free one)'},
      {id: 'not-allowed', symptom: 'not allowed to listen on port <port>', fix: 'choose a port above 1023 with `--port <port>`'},
      {id: 'no-address', symptom: 'cannot listen on <host>:<port>: the address is not on this machine', fix: 'pass one of this machine\'s addresses with `--host`, or leave `--host` out'},
    ],
  },
  {
    id: 'consumer-address',
    title: 'consumer address',
    verifies: 'Which address a Java consumer told `dubbo://localhost:<port>` really connects to: Dubbo replaces localhost and 127.0.0.1 with this machine\'s own address (NetUtils.filterLocalHost: the address the host name resolves to, else the first non-loopback IPv4 address), and the listener, with its local-peer rule, must accept connections on and from that address.',
    problems: [
      {id: 'host-excludes', symptom: 'the listener on --host <address> does not accept connections to <LAN address>', fix: 'leave `--host` out (dubbo-tunnel then listens on all of this machine\'s addresses and still refuses other machines), or give the consumer that address instead of localhost'},
      {id: 'hostname-elsewhere', symptom: 'the host name resolves to <address>, which is not an address of this machine', fix: 'fix the host name\'s entry in /etc/hosts (or DNS): Java consumers told localhost would connect there'},
      {id: 'other-address', warning: true, symptom: 'another LAN address of this machine would not be accepted', fix: 'Java may pick any of this machine\'s LAN addresses; leave `--host` out so all of them are accepted'},
    ],
  },
];

export function checkDefinition(id: CheckId): CheckDefinition {
  const found = CATALOGUE.find((check) => check.id === id);
  if (!found) throw new Error(`no doctor check ${id}`);
  return found;
}

export function problemOf(id: CheckId, problem: string): Problem {
  const found = checkDefinition(id).problems.find((candidate) => candidate.id === problem);
  if (!found) throw new Error(`doctor check ${id} has no problem ${problem}`);
  return found;
}
