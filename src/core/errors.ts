/**
 * Errors with a stable code (assert on the code, not the text) and a hint that names the fix.
 * `message` is what a consumer or a person reads; keep it one line.
 */
export type ErrorCode =
  | 'DT_ERR_PORT_IN_USE'
  | 'DT_ERR_LISTEN'
  | 'DT_ERR_BAD_ARGUMENT'
  | 'DT_ERR_BACKEND_UNAVAILABLE'
  | 'DT_ERR_BACKEND_CLOSED'
  | 'DT_ERR_NO_ROUTE'
  | 'DT_ERR_AMBIGUOUS_SERVICE'
  | 'DT_ERR_RESOLVE_FILE'
  | 'DT_ERR_BAD_BODY'
  | 'DT_ERR_UNSUPPORTED_SERIALIZATION'
  | 'DT_ERR_BAD_MAGIC'
  | 'DT_ERR_BAD_LENGTH'
  | 'DT_ERR_FRAME_TOO_LARGE'
  | 'DT_ERR_RESPONSE_TOO_LARGE'
  | 'DT_ERR_SHUTTING_DOWN'
  | 'DT_ERR_KUBECONFIG'
  | 'DT_ERR_KUBE_CONTEXT'
  | 'DT_ERR_KUBE_FORBIDDEN'
  | 'DT_ERR_KUBE_UNAUTHORIZED'
  | 'DT_ERR_KUBE_UNREACHABLE'
  | 'DT_ERR_KUBE_API'
  | 'DT_ERR_NO_READY_PODS'
  | 'DT_ERR_PORT_FORWARD'
  | 'DT_ERR_NO_BACKENDS'
  | 'DT_ERR_CONFIG'
  | 'DT_ERR_NEEDS_CHOICE';

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

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
