import {errorMessage} from '../core/errors.js';
import type {ShellInvoker} from '../proxy/telnet-invoke.js';

/**
 * Dubbo's telnet invoke gives the provider no time limit; a call through the tunnel may wait for a
 * port-forward to open first, so it gets longer than a consumer's default second.
 */
export const SHELL_INVOKE_TIMEOUT_MS = 10_000;

/**
 * The telnet shell's `invoke`, made by the built-in consumer of `dubbo-tunnel call` through the
 * listener the shell runs on: the request meets the same routing as any consumer's (the
 * target-application attachment when `cd <application>` chose one, else --route and the learned
 * services), and the Java types are inferred from the JSON as `call` does without --types.
 */
export function shellInvoker(attachmentKey: string, timeoutMs = SHELL_INVOKE_TIMEOUT_MS): ShellInvoker {
  return async (invocation) => {
    // Loaded on the first invoke: `up` starts without the `call` command's modules.
    const [{buildArguments}, {callOnce}, {FAILURE_CODES, toJson}] = await Promise.all([
      import('../client/arguments.js'), import('../client/dubbo-client.js'), import('./commands/call-output.js'),
    ]);
    let encoded;
    try {
      encoded = buildArguments(invocation.args);
    } catch (error) {
      return {kind: 'failure', text: `dubbo-tunnel [DT_ERR_BAD_ARGUMENT]: ${errorMessage(error)}`};
    }
    const result = await callOnce({
      host: invocation.host,
      port: invocation.port,
      application: invocation.application,
      service: invocation.service,
      method: invocation.method,
      parameterTypes: encoded.parameterTypes,
      args: encoded.args,
      timeoutMs,
      attachmentKey,
      signal: invocation.signal,
      ...(invocation.version === undefined ? {} : {version: invocation.version}),
      ...(invocation.group === undefined ? {} : {group: invocation.group}),
    });
    switch (result.kind) {
      case 'value':
        return {kind: 'result', json: toJson(result.value), elapsedMs: result.elapsedMs};
      case 'exception':
        return {kind: 'failure', text: `${result.exceptionClass}${result.message === '' ? '' : `: ${result.message}`}`, elapsedMs: result.elapsedMs};
      case 'error':
        // dubbo-tunnel's own answers already start with their code; a provider's error is its status and text.
        return {kind: 'failure', text: /^dubbo-tunnel \[DT_ERR_[A-Z_]+\]: /.test(result.message) ? result.message : `status ${result.status} ${result.statusName}: ${result.message}`, elapsedMs: result.elapsedMs};
      case 'bad-response':
      case 'connect-failed':
      case 'closed':
      case 'timeout':
        return {kind: 'failure', text: `dubbo-tunnel [${FAILURE_CODES[result.kind]}]: ${result.message}`, elapsedMs: result.elapsedMs};
    }
  };
}
