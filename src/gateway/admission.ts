import type {IncomingHttpHeaders} from 'node:http2';
import type {Backend} from '../core/backend.js';
import {ProtocolError} from '../core/errors.js';
import type {FrameHeader} from '../protocol/header.js';
import type {PeekResult} from '../protocol/request-peek.js';
import type {ConnectionAdmission, DubboVerdict, TripleRefusal} from '../proxy/admission.js';
import {localAnswer} from '../router/local-answer.js';
import type {RequestDecision} from '../router/route-request.js';
import type {ReviewedUser} from '../kube/reviews.js';
import {APPLICATION_PERMISSION, scrub} from './access.js';
import type {GatewayAccess} from './access.js';
import type {GatewayCatalog} from './catalog.js';
import {namespaceOf} from './catalog.js';
import {
  AUTHORIZATION_HEADER, GATEWAY_GRPC_STATUS, GATEWAY_PROTOCOL_VERSION, bearerToken, decodeGatewayRequest, encodeCatalogAnswer, encodeHelloAnswer,
  isGatewayRequest, parseHello, type GatewayErrorCode, type GatewayRequest,
} from './protocol.js';
import {STATUS} from '../protocol/header.js';

export interface GatewayPolicy {
  readonly access: GatewayAccess;
  readonly catalog: GatewayCatalog;
  /** --allow-anonymous: consumers without a hello (and HTTP/2 streams without a token) are routed. */
  readonly allowAnonymous: boolean;
  /** A laptop's hello succeeded / its connection closed (laptops connected, for /metrics). */
  readonly laptops: {opened(): void; closed(): void};
}

const HOW_TO_CONNECT = 'connect with `dubbo-tunnel up --via <namespace>/<service>`, which sends your kubeconfig\'s credential';

/**
 * One connection's admission: a laptop says hello with its token first and is its user from then
 * on; each request is allowed when that user may `get services` in the namespace of the
 * application it is routed to. Refusals are coded answers; the token never appears in one.
 */
export class GatewayConnectionAdmission implements ConnectionAdmission {
  readonly privateHeaders = [AUTHORIZATION_HEADER] as const;
  readonly #policy: GatewayPolicy;
  #user: ReviewedUser | undefined;

  constructor(policy: GatewayPolicy) {
    this.#policy = policy;
  }

  /** A laptop that said hello moves to another replica on READONLY and then closes its stream. */
  get servesUntilPeerLeaves(): boolean {
    return this.#user !== undefined;
  }

  /** The connection closed. */
  closed(): void {
    if (this.#user !== undefined) this.#policy.laptops.closed();
    this.#user = undefined;
  }

  dubbo(header: FrameHeader, frame: Buffer, peek: PeekResult, decision: RequestDecision): DubboVerdict {
    if (peek.readable && isGatewayRequest(peek.request)) return this.#gatewayRequest(header, frame);
    const user = this.#user;
    if (user === undefined) {
      if (this.#policy.allowAnonymous) return undefined;
      return refuse('DT_ERR_GATEWAY_UNAUTHENTICATED', `this gateway serves only laptops that say who they are, and this connection sent no hello; ${HOW_TO_CONNECT}; nothing was forwarded`);
    }
    if (!decision.forward) return undefined;
    const namespace = namespaceOf(decision.backend);
    if (namespace === undefined) return undefined;
    const known = this.#policy.access.knownAccess(user, namespace);
    if (known === undefined) return {wait: this.#policy.access.authorize(user, namespace)};
    if (known.ok) return undefined;
    return refuse('DT_ERR_GATEWAY_FORBIDDEN', forbiddenReason(user, namespace, decision.backend.application, known.reason, known.failed));
  }

  async triple(headers: IncomingHttpHeaders, backend: Backend): Promise<TripleRefusal | undefined> {
    const value = headers[AUTHORIZATION_HEADER];
    const token = bearerToken(Array.isArray(value) ? value[0] : value);
    if (token === undefined) {
      if (this.#policy.allowAnonymous && value === undefined) return undefined;
      return tripleRefusal('DT_ERR_GATEWAY_UNAUTHENTICATED', `every HTTP/2 stream to this gateway needs the header ${AUTHORIZATION_HEADER}: Bearer <token>; ${HOW_TO_CONNECT}`);
    }
    const authentication = await this.#policy.access.authenticate(token);
    if (!authentication.ok) return tripleRefusal('DT_ERR_GATEWAY_UNAUTHENTICATED', unauthenticatedReason(authentication.reason, token));
    const namespace = namespaceOf(backend);
    if (namespace === undefined) return undefined;
    const authorization = await this.#policy.access.authorize(authentication.user, namespace);
    if (authorization.ok) return undefined;
    return tripleRefusal('DT_ERR_GATEWAY_FORBIDDEN', forbiddenReason(authentication.user, namespace, backend.application, authorization.reason, authorization.failed));
  }

  #gatewayRequest(header: FrameHeader, frame: Buffer): DubboVerdict {
    let request: GatewayRequest;
    try {
      request = decodeGatewayRequest(header, frame);
    } catch (error) {
      return refuse('DT_ERR_GATEWAY_PROTOCOL', `${error instanceof ProtocolError ? error.message : String(error)}; the stream is closed`, true);
    }
    if (request.method === 'hello') return this.#hello(header, request);
    if (this.#user === undefined) return refuse('DT_ERR_GATEWAY_UNAUTHENTICATED', `catalog before a successful hello; ${HOW_TO_CONNECT}`);
    return this.#withCatalog(this.#user, (catalog) => encodeCatalogAnswer(header.requestId, catalog));
  }

  #hello(header: FrameHeader, request: GatewayRequest): DubboVerdict {
    try {
      parseHello(request.argument);
    } catch (error) {
      return refuse('DT_ERR_GATEWAY_PROTOCOL', `${error instanceof ProtocolError ? error.message : String(error)}; the stream is closed`, true);
    }
    const token = request.token;
    if (token === undefined) {
      return refuse('DT_ERR_GATEWAY_UNAUTHENTICATED', `the hello carries no \`authorization: Bearer <token>\` attachment; ${HOW_TO_CONNECT}; the stream is closed`, true);
    }
    const known = this.#policy.access.knownToken(token);
    // While the review runs the listener holds this hello (and what follows) and asks again after.
    if (known === undefined) return {wait: this.#policy.access.authenticate(token)};
    if (!known.ok) return refuse('DT_ERR_GATEWAY_UNAUTHENTICATED', `${unauthenticatedReason(known.reason, token)}; the stream is closed`, true);
    const user = known.user;
    return this.#withCatalog(user, (catalog) => {
      if (this.#user === undefined) this.#policy.laptops.opened();
      this.#user = user;
      return encodeHelloAnswer(header.requestId, {protocolVersion: GATEWAY_PROTOCOL_VERSION, user: user.username, catalog});
    });
  }

  /** Answers with the user's catalog once every namespace on offer has been checked for them. */
  #withCatalog(user: ReviewedUser, answer: (catalog: ReturnType<GatewayCatalog['catalogFor']>) => Buffer): DubboVerdict {
    const {access, catalog} = this.#policy;
    const unknown = catalog.namespaces().filter((namespace) => access.knownAccess(user, namespace) === undefined);
    if (unknown.length > 0) return {wait: Promise.all(unknown.map((namespace) => access.authorize(user, namespace)))};
    const reply = answer(catalog.catalogFor((namespace) => {
      const known = access.knownAccess(user, namespace);
      if (known?.ok === true) return {allowed: true};
      return {allowed: false, permission: applicationPermission(namespace), unchecked: known?.failed ?? true};
    }));
    return {reply, status: STATUS.OK};
  }
}

function refuse(code: GatewayErrorCode, reason: string, close = false): DubboVerdict {
  return {refuse: localAnswer(code, reason), close};
}

function tripleRefusal(code: GatewayErrorCode, reason: string): TripleRefusal {
  return {grpcStatus: GATEWAY_GRPC_STATUS[code], code, reason};
}

function unauthenticatedReason(reason: string, token: string): string {
  const why = scrub(reason, token).trim();
  return `the cluster did not accept the token${why === '' ? '' : ` (${why})`}; get a fresh one by logging in again with your cluster's tool (check with \`kubectl auth whoami\`)`;
}

/** `get services in namespace billing`: what a developer needs to use the applications of a namespace. */
function applicationPermission(namespace: string): string {
  return `${APPLICATION_PERMISSION.verb} ${APPLICATION_PERMISSION.resource} in namespace ${namespace}`;
}

function forbiddenReason(user: ReviewedUser, namespace: string, application: string, reason: string, failed: boolean): string {
  const permission = applicationPermission(namespace);
  if (failed) return `${reason}; ${application} needs ${permission}, which could not be checked now; try again`;
  return `user ${user.username} may not use ${application}: missing permission ${permission}; check with \`kubectl auth can-i ${APPLICATION_PERMISSION.verb} ${APPLICATION_PERMISSION.resource} -n ${namespace}\` and ask for a RoleBinding that grants it (docs/team-mode.md)`;
}
