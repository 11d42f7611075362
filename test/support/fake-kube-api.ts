/**
 * The fake Kubernetes API server the tests use: the demo's simulated API server
 * (src/sim/kube-api.ts, the real wire protocol) plus what only tests need, so none of this ships in
 * dist/: a self-signed serving certificate (`tls: true`), an RBAC-like authorizer with the API
 * server's 403 wording and SelfSubjectAccessReview, request recording, compaction (410 Expired),
 * pause/restart, counters of open watches and port-forwards, and a delay on port-forward upgrades.
 *
 * Usage:
 *   const api = await FakeKubeApi.start({users: {'alice-token': 'alice'}});
 *   api.addDubboApp({namespace: 'dev', name: 'user-rpc', ingress: true,
 *                    pods: [{name: 'user-rpc-0', target: {host: '127.0.0.1', port: providerPort}}]});
 *   const kc = new KubeConfig(); kc.loadFromString(api.kubeconfig({namespace: 'dev'}));
 *   ... run the code under test ...
 *   api.setPodReady('dev', 'user-rpc-0', false); api.deletePod('dev', 'user-rpc-0'); api.dropWatches();
 *   await api.stop();
 */
import {mkdirSync, writeFileSync} from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import {HttpError, SimulatedKubeApi, record, sendJson, status, text} from '../../src/sim/kube-api.js';
import type {PauseMode, PortForwardStats, RecordedRequest, RequestAttributes, SimulatedKubeApiOptions} from '../../src/sim/kube-api.js';
import {resolveResourceType} from '../../src/sim/kube-api/resources.js';
import {forbiddenMessage, Rbac, type RbacRule} from './fake-kube-api/rbac.js';
import {createSelfSignedTls} from './fake-kube-api/tls.js';

export * from '../../src/sim/kube-api.js';
export type {RbacRule} from './fake-kube-api/rbac.js';

export interface FakeKubeApiOptions extends SimulatedKubeApiOptions {
  /** Serve https with a freshly generated CA + server certificate (kubeconfig carries the CA). */
  tls?: boolean;
}

export class FakeKubeApi extends SimulatedKubeApi {
  /** Every request, newest last (the newest 10 000). */
  readonly requests: RecordedRequest[] = [];
  /** Every SubjectAccessReview asked, oldest first (to check what is cached). */
  readonly subjectAccessReviews: {user: string; verb: string; resource: string; namespace: string}[] = [];
  private readonly rbac = new Rbac();

  static override async start(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(options, options.tls === true ? createSelfSignedTls() : undefined);
    await api.listen();
    return api;
  }

  /** Denies matching requests (and SSARs) with 403 / allowed:false. */
  deny(rule: RbacRule): void {
    this.rbac.deny(rule);
  }

  /** Restricts `user` to exactly these rules, like a Role bound to them. */
  setRules(user: string, rules: readonly RbacRule[]): void {
    this.rbac.setRules(user, rules);
  }

  /** Back to allow-all. */
  resetRbac(): void {
    this.rbac.reset();
  }

  /** What the authorizer says for these attributes (the same answer a SelfSubjectAccessReview gets). */
  authorize(attrs: RequestAttributes): {allowed: boolean; reason?: string} {
    return this.rbac.authorize(attrs);
  }

  /** Open port-forward WebSockets, optionally for one pod. */
  portForwardCount(namespace?: string, pod?: string): number {
    return [...this.http.sessions].filter((s) => (namespace === undefined || s.namespace === namespace) && (pod === undefined || s.pod === pod)).length;
  }

  /** Port-forward upgrades accepted since the start (open or closed since), across pods and ports. */
  get portForwardsServed(): number {
    return this.http.portForwardsServed;
  }

  /**
   * A pod's service-account mount as the kubelet writes it (`token`, `ca.crt`, `namespace`) in
   * `<dir>/sa`, and the environment that points client-node's in-cluster config at this server
   * through it: what `dubbo-tunnel gateway` finds in its pod.
   */
  inClusterEnv(dir: string, token: string, namespace = 'dubbo-tunnel'): Record<string, string> {
    const serviceAccountDir = path.join(dir, 'sa');
    mkdirSync(serviceAccountDir, {recursive: true});
    writeFileSync(path.join(serviceAccountDir, 'token'), token);
    writeFileSync(path.join(serviceAccountDir, 'ca.crt'), this.caPem ?? '');
    writeFileSync(path.join(serviceAccountDir, 'namespace'), namespace);
    return {KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(this.port), DUBBO_TUNNEL_SERVICEACCOUNT_DIR: serviceAccountDir};
  }

  /** Every port-forward upgrade from now on waits `ms` before it is answered (0: at once again). */
  delayPortForwards(ms: number): void {
    this.http.portForwardDelayMs = Math.max(0, ms);
  }

  /** Byte counters of the open port-forward WebSockets, optionally for one pod. */
  portForwardStats(namespace?: string, pod?: string): (PortForwardStats & {namespace: string; pod: string})[] {
    return [...this.http.sessions]
      .filter((s) => (namespace === undefined || s.namespace === namespace) && (pod === undefined || s.pod === pod))
      .map((s) => ({namespace: s.namespace, pod: s.pod, ...s.session.stats()}));
  }

  /** Open watch streams, optionally of one resource type ("pods", "Pod", ...). */
  watchCount(kind?: string): number {
    const type = kind === undefined ? undefined : resolveResourceType(kind);
    return [...this.http.watches].filter((w) => type === undefined || w.type === type).length;
  }

  /** Ends every open watch stream (cleanly, or by destroying the connection with `abrupt`). */
  dropWatches(options: {abrupt?: boolean} = {}): void {
    for (const w of [...this.http.watches]) this.http.closeWatch(w, options.abrupt === true);
  }

  /** Makes every resourceVersion handed out so far too old: the next resume from one gets 410 Expired. */
  compact(): void {
    this.store.compact();
  }

  /** Sends a BOOKMARK now on every watch that allows bookmarks. */
  sendBookmarks(): void {
    for (const w of this.http.watches) if (w.bookmarks) this.http.writeBookmark(w);
  }

  /**
   * Simulates the API server going away. "refuse" (default) closes the listener and every connection
   * (watches, port-forwards): new connections are refused. "unavailable" keeps listening but answers
   * 503 to everything. "stall" is a stopped process (SIGSTOP, a hung proxy): connections are accepted
   * and kept, but nothing is answered, no watch event or BOOKMARK is sent and port-forwards relay
   * nothing, until resumeApi() does the work that was owed, in order.
   */
  async pauseApi(mode: PauseMode | 'stall' = 'refuse'): Promise<void> {
    if (mode === 'stall') {
      this.#stalled = true;
      for (const entry of this.http.sessions) entry.session.stall(true);
      return;
    }
    this.http.pauseMode = mode;
    if (mode === 'unavailable') return;
    await this.http.closeEverything();
  }

  async resumeApi(): Promise<void> {
    if (this.#stalled) {
      this.#stalled = false;
      for (const entry of this.http.sessions) entry.session.stall(false);
      const owed = this.#owed;
      this.#owed = [];
      for (const work of owed) work();
    }
    const wasRefusing = this.http.pauseMode === 'refuse';
    this.http.pauseMode = undefined;
    if (wasRefusing && !this.http.stopped) await this.listen();
  }

  #stalled = false;
  /** What the stalled server owes: requests, upgrades and watch events, in order. */
  #owed: (() => void)[] = [];

  protected override deferred(work: () => void): boolean {
    if (!this.#stalled) return false;
    this.#owed.push(work);
    return true;
  }

  /** pauseApi() then resumeApi() on the same port, after `downtimeMs`. Objects and resourceVersions survive. */
  async restart(downtimeMs = 0): Promise<void> {
    await this.pauseApi('refuse');
    if (downtimeMs > 0) await new Promise((resolve) => setTimeout(resolve, downtimeMs));
    await this.resumeApi();
  }

  protected override record(req: http.IncomingMessage, url: URL): RecordedRequest {
    const entry = super.record(req, url);
    this.requests.push(entry);
    if (this.requests.length > 10_000) this.requests.splice(0, this.requests.length - 10_000);
    return entry;
  }

  protected override route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, user: string, body: Buffer): void {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (req.method === 'POST' && path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
      this.selfSubjectAccessReview(res, user, body);
      return;
    }
    if (req.method === 'POST' && path === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
      this.checkAccess({user, verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews', subresource: '', namespace: '', name: ''});
      this.subjectAccessReview(res, body);
      return;
    }
    super.route(req, res, url, user, body);
  }

  protected override checkAccess(attrs: RequestAttributes): void {
    const decision = this.rbac.authorize(attrs);
    if (decision.allowed) return;
    const reason = decision.reason === undefined || decision.reason === '' ? '' : `: ${decision.reason}`;
    const qualified = attrs.group === '' ? attrs.resource : `${attrs.resource}.${attrs.group}`;
    const prefix = attrs.name === '' ? `${qualified} is forbidden` : `${qualified} "${attrs.name}" is forbidden`;
    // responsewriters.Forbidden + apierrors.NewForbidden(GroupResource, name, err).
    throw new HttpError(status(403, 'Forbidden', `${prefix}: ${forbiddenMessage(attrs)}${reason}`, {
      ...(attrs.name === '' ? {} : {name: attrs.name}),
      ...(attrs.group === '' ? {} : {group: attrs.group}),
      kind: attrs.resource,
    }));
  }

  /** SubjectAccessReview: what the authorizer says for the user named in the spec (groups are not modelled). */
  private subjectAccessReview(res: http.ServerResponse, body: Buffer): void {
    let review: Record<string, unknown>;
    try {
      review = record(JSON.parse(body.toString('utf8')));
    } catch {
      throw new HttpError(status(400, 'BadRequest', 'the object provided is unrecognized (must be of type SubjectAccessReview)'));
    }
    const spec = record(review.spec);
    const attrs = record(spec.resourceAttributes);
    const user = text(spec.user);
    if (user === '' || Object.keys(attrs).length === 0) {
      throw new HttpError(status(422, 'Invalid', 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified'));
    }
    this.subjectAccessReviews.push({user, verb: text(attrs.verb), resource: text(attrs.resource), namespace: text(attrs.namespace)});
    const result = this.rbac.authorize({user, verb: text(attrs.verb), group: text(attrs.group), resource: text(attrs.resource), subresource: text(attrs.subresource), namespace: text(attrs.namespace), name: text(attrs.name)});
    sendJson(res, 201, {
      kind: 'SubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: {creationTimestamp: null},
      spec,
      status: {allowed: result.allowed, ...(result.reason === undefined ? {} : {reason: result.reason})},
    });
  }

  private selfSubjectAccessReview(res: http.ServerResponse, user: string, body: Buffer): void {
    let review: Record<string, unknown>;
    try {
      review = record(JSON.parse(body.toString('utf8')));
    } catch {
      throw new HttpError(status(400, 'BadRequest', 'the object provided is unrecognized (must be of type SelfSubjectAccessReview)'));
    }
    const spec = record(review.spec);
    const attrs = record(spec.resourceAttributes);
    let result: {allowed: boolean; reason?: string};
    if (Object.keys(attrs).length > 0) {
      result = this.rbac.authorize({
        user,
        verb: text(attrs.verb),
        group: text(attrs.group),
        resource: text(attrs.resource),
        subresource: text(attrs.subresource),
        namespace: text(attrs.namespace),
        name: text(attrs.name),
      });
    } else if (spec.nonResourceAttributes !== undefined) {
      result = {allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"'};
    } else {
      throw new HttpError(status(422, 'Invalid', 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified'));
    }
    sendJson(res, 201, {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: {creationTimestamp: null},
      spec,
      status: {allowed: result.allowed, ...(result.reason === undefined ? {} : {reason: result.reason})},
    });
  }
}
