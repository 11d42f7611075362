/**
 * Errors with a stable code (assert on the code, not the text) and a hint that names the fix.
 * `message` is what a consumer or a person reads; keep it one line.
 */
/**
 * Every stable code, where a person or a script sees it, and what it means. ErrorCode is derived
 * from this table, so a code cannot exist without its entry; docs/errors.md is generated from it
 * (scripts/errors-doc.ts; test/docs/errors.test.ts keeps it current and fails on a code no
 * module uses). Codes never change meaning; add a new one for a new cause.
 *
 * Where: `answer` = the text of a Dubbo error response a consumer gets (`dubbo-tunnel [CODE]: …`,
 * also the `code` of the `request-completed` event and its `--json` line); `cli` = the error line
 * of a command (`dubbo-tunnel [CODE]: …`, exit status 1, or 2 for usage errors); `call` = the
 * outcome of `dubbo-tunnel call` (stderr, and `errorCode` with `--json`); `log` = a log line or
 * event while running.
 */
export const ERROR_CODES = {
  DT_ERR_BAD_ARGUMENT: {where: 'cli', meaning: 'A command-line argument is missing, unknown or malformed (exit status 2).', fix: 'See `dubbo-tunnel <command> --help`.'},
  DT_ERR_NEEDS_CHOICE: {where: 'cli', meaning: 'No applications were chosen and there is no terminal for the picker (exit status 2).', fix: 'Pass `--all`, `--select <a,b>` or `--last`.'},
  DT_ERR_CONFIG: {where: 'cli', meaning: 'A setting given as a flag or environment variable is invalid (exit status 2), or the config file is broken: then it is a warning, the command goes on without the broken parts and never rewrites the file.', fix: 'Fix or unset it: `dubbo-tunnel config list` shows where each value comes from; `dubbo-tunnel config reset` moves a broken file aside.'},
  DT_ERR_PORT_IN_USE: {where: 'cli', meaning: 'The local port is already taken by another process.', fix: 'Stop that process or pass `--port <port>`; `dubbo-tunnel doctor` names the holder and a free port.'},
  DT_ERR_LISTEN_NOT_ALLOWED: {where: 'cli', meaning: 'The operating system does not allow listening on that port (ports below 1024).', fix: 'Choose a port above 1023 with `--port`.'},
  DT_ERR_LISTEN_ADDRESS: {where: 'cli', meaning: 'The `--host` address is not an address of this machine.', fix: 'Pass a local address, or leave `--host` out.'},
  DT_ERR_LISTEN: {where: 'cli', meaning: 'Listening on the local port failed for another reason (the message has the system error).', fix: 'Run `dubbo-tunnel doctor`.'},
  DT_ERR_KUBECONFIG: {where: 'cli', meaning: 'The kubeconfig is missing, unreadable or invalid.', fix: 'Check `--kubeconfig` / `KUBECONFIG`; `dubbo-tunnel doctor` says what is wrong.'},
  DT_ERR_KUBE_CONTEXT: {where: 'cli', meaning: 'The kubeconfig context does not exist or is incomplete.', fix: 'Pass an existing `--context` (`kubectl config get-contexts`).'},
  DT_ERR_KUBE_UNAUTHORIZED: {where: 'cli, log', meaning: 'The API server rejected the credentials (401), or the exec credential plugin failed.', fix: 'Log in again with your cluster\'s tool (the message names it).'},
  DT_ERR_KUBE_FORBIDDEN: {where: 'cli, answer, log', meaning: 'RBAC does not allow a verb dubbo-tunnel needs (403); the message names the verb and resource. Requests get it as their answer when the port-forward to their application is refused.', fix: 'Ask for the Role in docs/kubernetes.md (the message has the rule to add); `dubbo-tunnel doctor` checks every verb.'},
  DT_ERR_KUBE_UNREACHABLE: {where: 'cli, answer, log', meaning: 'The API server cannot be reached (refused, timed out, DNS, TLS), or it stalled: it accepts connections but answers nothing (a port-forward set-up or the `GET /version` sent every 3 s had no answer within 1.5 s, or another request none within 3 s). While it lasts, new requests to the cluster\'s applications get this answer at once instead of waiting for their own timeout.', fix: 'Check VPN/network and the server URL in the kubeconfig; requests work again as soon as the API server answers.'},
  DT_ERR_KUBE_API: {where: 'cli, log', meaning: 'The API server answered with an error or with something that is not the Kubernetes API.', fix: 'The message has the API server\'s own text; check the server URL.'},
  DT_ERR_GATEWAY_NO_TOKEN: {where: 'cli', meaning: '`up --via` (and `ls --via`) needs the developer\'s Kubernetes credential as a bearer token for the team gateway, and the kubeconfig user yields none (it authenticates with a client certificate or basic auth).', fix: 'Use a context whose user logs in with an exec plugin or OIDC, or a service-account token (`kubectl create token <service-account>`); see docs/team-mode.md.'},
  DT_ERR_RESOLVE_FILE: {where: 'cli', meaning: 'The `--resolve-file` cannot be taken: another running dubbo-tunnel manages it, or it cannot be read or written.', fix: 'Stop the other one, or pass another `--resolve-file <path>` (consumers then need `-Ddubbo.resolve.file=<path>`).'},
  DT_ERR_NO_BACKENDS: {where: 'cli', meaning: 'Discovery found no Dubbo backends (or the namespace does not exist).', fix: 'Mark a Service or Ingress as docs/kubernetes.md describes, or pick another `--namespace`.'},
  DT_ERR_NO_READY_PODS: {where: 'answer, log', meaning: 'The application has no ready pod to forward to (nor a terminating one that still serves), and none became ready within the short wait (750 ms) a new request gets.', fix: 'Check the pods (`kubectl get pods`); requests work again as soon as one is ready.'},
  DT_ERR_PORT_FORWARD: {where: 'answer, log', meaning: 'The port-forward stream to a pod could not be opened or broke.', fix: 'The message has the API server\'s reason; check the pod and the `pods/portforward` permission.'},
  DT_ERR_BACKEND_UNAVAILABLE: {where: 'answer', meaning: 'The provider could not be reached, so the request was not sent.', fix: 'Check that the provider runs (the message names the address); the next request tries again.'},
  DT_ERR_BACKEND_CLOSED: {where: 'answer', meaning: 'The connection to the provider ended while the request waited for its answer; it may or may not have run.', fix: 'Retry if the call is idempotent.'},
  DT_ERR_NO_ROUTE: {where: 'answer', meaning: 'The request names no routed application (attachment, MetadataService group, `--route` map or the only backend).', fix: 'Set the `target-application` attachment to one of the applications the message lists.'},
  DT_ERR_AMBIGUOUS_SERVICE: {where: 'answer', meaning: 'A request without the attachment names a service that two or more routed applications were learned to export; the message names them.', fix: 'Set the `target-application` attachment, or pass `--route <interface>=<application>`.'},
  DT_ERR_UNSUPPORTED_SERIALIZATION: {where: 'answer', meaning: 'The request\'s serialization cannot be read, so its attachment is unknown and nothing else routes it.', fix: 'Use `serialization=hessian2` on the reference, or map the interface with `--route`.'},
  DT_ERR_BAD_BODY: {where: 'answer', meaning: 'The request body is not a valid Dubbo request.', fix: 'Check the consumer\'s Dubbo version and serialization.'},
  DT_ERR_FRAME_TOO_LARGE: {where: 'answer', meaning: 'The request is larger than the payload limit and was not forwarded.', fix: 'Raise the limit with `--max-payload <bytes>`.'},
  DT_ERR_RESPONSE_TOO_LARGE: {where: 'answer', meaning: 'The provider\'s answer is larger than the payload limit; the consumer gets this error instead.', fix: 'Raise the limit with `--max-payload <bytes>`.'},
  DT_ERR_CONSUMER_TOO_SLOW: {where: 'answer', meaning: 'A consumer connection stopped reading while its answers kept coming on a provider stream other consumers share; past 4 MiB of unread answers it was closed (so the others keep flowing), and its requests still in flight were given up.', fix: 'Check the consumer process (a stalled event loop, a full GC, a debugger on a breakpoint); it reconnects on its own.'},
  DT_ERR_SHUTTING_DOWN: {where: 'answer', meaning: 'dubbo-tunnel is stopping and forwards no new requests.', fix: 'Start it again.'},
  DT_ERR_STOPPED_BEFORE_ANSWER: {where: 'answer', meaning: 'dubbo-tunnel stopped before the provider answered: the answer did not come within `--drain-timeout` (default 10 s), or a second `q`, Ctrl-C or signal stopped at once; the call may or may not have run.', fix: 'Retry once dubbo-tunnel runs again; give slow calls more time to finish on a stop with `--drain-timeout <seconds>`.'},
  DT_ERR_GATEWAY_UNAUTHENTICATED: {where: 'answer, log', meaning: 'A team gateway refused a laptop stream or a request: no token, or a token its TokenReview did not accept (invalid or expired); also every request of a plain consumer when the gateway does not allow anonymous access. On HTTP/2 it is gRPC status UNAUTHENTICATED.', fix: 'Use `dubbo-tunnel up --via …` with a kubeconfig whose credential is valid (log in again with your cluster\'s tool; `kubectl auth whoami` checks it).'},
  DT_ERR_GATEWAY_FORBIDDEN: {where: 'answer', meaning: 'A team gateway refused a request: the developer may not `get services` in the application\'s namespace (SubjectAccessReview). On HTTP/2 it is gRPC status PERMISSION_DENIED. Other namespaces keep working.', fix: 'Check with `kubectl auth can-i get services -n <namespace>`; ask for a RoleBinding (docs/team-mode.md).'},
  DT_ERR_GATEWAY_PROTOCOL: {where: 'answer, log', meaning: 'A laptop stream\'s hello (or catalog request) to a team gateway was malformed, or spoke another gateway protocol version; the gateway closed the stream.', fix: 'Use the same dubbo-tunnel version on the laptop as the gateway runs.'},
  DT_ERR_BAD_MAGIC: {where: 'log', meaning: 'A consumer sent bytes that are not Dubbo; its connection was closed.', fix: 'Point only Dubbo consumers (`dubbo://`) at the port.'},
  DT_ERR_BAD_LENGTH: {where: 'log', meaning: 'A frame header had an impossible body length; the connection was closed.', fix: 'Check the consumer; this is not Dubbo 2 framing.'},
  DT_ERR_CALL_CONNECT: {where: 'call', meaning: '`call` could not connect to the local port (exit status 3, like every call without an answer).', fix: 'Start `dubbo-tunnel up`, or pass its `--port`.'},
  DT_ERR_CALL_CLOSED: {where: 'call', meaning: 'The connection closed before the answer arrived.', fix: 'See the log of `dubbo-tunnel up`.'},
  DT_ERR_CALL_TIMEOUT: {where: 'call', meaning: 'No answer within `--timeout`.', fix: 'Raise `--timeout`, or check the provider.'},
  DT_ERR_CALL_BAD_ANSWER: {where: 'call', meaning: 'The answer could not be read (not Dubbo, or a serialization the client cannot read).', fix: 'Check that the port is dubbo-tunnel\'s or a Dubbo provider\'s.'},
  DT_ERR_RECORD_FILE: {where: 'cli, log', meaning: '`up --record <file>` cannot write its recording: the folder is missing or not writable, the path is a folder (then `up` does not start), or a write failed while running (the disk is full: recording stops, calls are still routed).', fix: 'Create the folder, free disk space, or pass another `--record <file>`.'},
  DT_ERR_RECORD_LINE: {where: 'cli', meaning: 'A line of a call recording (`up --record`, `--json --payloads`) is not a call record: not JSON, or a field is missing or of the wrong type. The message names the file and line.', fix: 'Pass a file written by `up --record`; lines edited by hand must keep every field\'s type (docs/inspector.md).'},
  DT_ERR_RECORD_VERSION: {where: 'cli', meaning: 'A line of a call recording has a format version (`"v"`) this dubbo-tunnel does not read.', fix: 'Replay it with the dubbo-tunnel version that wrote it, or record again.'},
  DT_ERR_INTERNAL: {where: 'cli', meaning: 'A bug: an error without a code reached the command line (the stack trace follows).', fix: 'Please report it with the output.'},
} as const satisfies Record<string, {where: string; meaning: string; fix: string}>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DubboTunnelError extends Error {
  readonly code: ErrorCode;
  /** What the user should do next, e.g. "pass --port 20881 or stop the other process". */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: {hint?: string; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause});
    this.name = 'DubboTunnelError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** A backend could not be reached; `message` goes into the consumer's Dubbo error response. */
export class BackendError extends DubboTunnelError {
  constructor(message: string, options: {hint?: string; cause?: unknown; code?: ErrorCode} = {}) {
    super(options.code ?? 'DT_ERR_BACKEND_UNAVAILABLE', message, options);
    this.name = 'BackendError';
  }
}

/** The bytes on a connection are not (valid) Dubbo. */
export class ProtocolError extends DubboTunnelError {
  constructor(code: ErrorCode, message: string, options: {hint?: string; cause?: unknown} = {}) {
    super(code, message, options);
    this.name = 'ProtocolError';
  }
}

/**
 * Errors a person fixes by changing what they typed or configured (a flag, an argument, a
 * DUBBO_TUNNEL_* variable, the config file, a missing choice): every command exits 2 for these.
 */
const USAGE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(['DT_ERR_BAD_ARGUMENT', 'DT_ERR_NEEDS_CHOICE', 'DT_ERR_CONFIG']);

export function isUsageError(error: unknown): boolean {
  return error instanceof DubboTunnelError && USAGE_ERROR_CODES.has(error.code);
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
