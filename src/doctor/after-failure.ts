import type {Writable} from 'node:stream';
import {DubboTunnelError} from '../core/errors.js';
import type {ErrorCode} from '../core/errors.js';
import type {CheckId} from './catalogue.js';
import {runDoctor} from './checks.js';
import type {CheckResult, DoctorOptions} from './checks.js';
import {formatResult} from './report.js';

/** What the failed `up` was pointed at (UpOptions has these fields). */
export type DoctorTarget = Pick<DoctorOptions, 'kube' | 'port' | 'host' | 'allowRemote'>;

const KUBE_CHECKS: readonly CheckId[] = ['kubeconfig', 'credentials', 'api-server', 'permissions'];
const PORT_CHECKS: readonly CheckId[] = ['port'];

const DIAGNOSED: Partial<Record<ErrorCode, readonly CheckId[]>> = {
  DT_ERR_KUBECONFIG: KUBE_CHECKS,
  DT_ERR_KUBE_CONTEXT: KUBE_CHECKS,
  DT_ERR_KUBE_UNAUTHORIZED: KUBE_CHECKS,
  DT_ERR_KUBE_UNREACHABLE: KUBE_CHECKS,
  DT_ERR_KUBE_FORBIDDEN: KUBE_CHECKS,
  DT_ERR_KUBE_API: KUBE_CHECKS,
  DT_ERR_PORT_IN_USE: PORT_CHECKS,
  DT_ERR_LISTEN: PORT_CHECKS,
  DT_ERR_LISTEN_NOT_ALLOWED: PORT_CHECKS,
  DT_ERR_LISTEN_ADDRESS: PORT_CHECKS,
};

/** Which checks can say more about a start-up error; undefined = none (a usage error, no backends, ...). */
export function checksFor(code: ErrorCode): readonly CheckId[] | undefined {
  return DIAGNOSED[code];
}

/** The user stopped it (ctrl-c ended an exec plugin, a request was aborted): nothing to diagnose. */
function interrupted(error: unknown): boolean {
  for (let cause = error, depth = 0; cause !== null && typeof cause === 'object' && depth < 10; depth++) {
    const {name, signal, code} = cause as {name?: unknown; signal?: unknown; code?: unknown};
    if (name === 'AbortError' || signal === 'SIGINT' || code === 'ABORT_ERR') return true;
    cause = (cause as {cause?: unknown}).cause;
  }
  return false;
}

/**
 * After `up` failed to start (its error already printed): runs the doctor checks that concern the
 * error, quietly and with short timeouts, and prints only the ones that fail, under "doctor:".
 * Never throws: a diagnosis that itself fails is dropped.
 */
export async function explainStartFailure(error: unknown, target: () => DoctorTarget, context: {stderr: Writable; env: NodeJS.ProcessEnv}): Promise<CheckResult[]> {
  if (!(error instanceof DubboTunnelError) || interrupted(error)) return [];
  const only = checksFor(error.code);
  if (only === undefined) return [];
  let failing: CheckResult[];
  try {
    const results = await runDoctor({...target(), env: context.env, execStderr: null, interactive: false, only, apiTimeoutMs: 5000});
    // A check that only repeats the error just printed adds nothing.
    const repeats = (result: CheckResult) => result.summary === error.message && result.details.length === 0 && (result.fix === undefined || result.fix === error.hint);
    failing = results.filter((result) => result.status === 'fail' && !repeats(result));
  } catch {
    return [];
  }
  if (failing.length === 0) return [];
  context.stderr.write(`doctor:\n${failing.map((result) => formatResult(result, '  ')).join('')}  (dubbo-tunnel doctor runs every check)\n`);
  return failing;
}
