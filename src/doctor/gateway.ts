/**
 * The doctor's team-gateway checks (`doctor --via`). The way to the gateway and the hello are the
 * product's own (`up --via`'s source, handed in by the CLI as `hello`), so the check passes exactly
 * when `up --via` would get past its hello; this file only judges what came back.
 */
import {performance} from 'node:perf_hooks';
import {DubboTunnelError, errorMessage} from '../core/errors.js';
import {textTable} from '../core/text-table.js';
import {result} from './result.js';
import type {CheckResult} from './result.js';

/** What `up --via`'s hello gave: who the gateway says you are, and your catalog. */
export interface ViaHello {
  readonly user: string | undefined;
  readonly applications: readonly {readonly name: string; readonly namespace: string}[];
  /** Namespaces you may not use: how many applications, and the permission missing there. */
  readonly refused: readonly {readonly namespace: string; readonly applications: number; readonly permission: string; readonly unchecked: boolean}[];
}

export interface ViaProbe {
  /** `dubbo-tunnel/dubbo-tunnel-gateway`, `10.0.0.5:20880`: as the user wrote it. */
  readonly target: string;
  /** True for `<namespace>/<service>` (a port-forward through the API server); false for `host:port`. */
  readonly throughApiServer: boolean;
  /** Opens the way to the gateway, says hello with the developer's token, closes. Rejects with a coded error. */
  hello(): Promise<ViaHello>;
}

/** The problem of the gateway check that an error of the hello is, by its code (never its words). */
function problemOf(error: unknown): 'no-token' | 'unauthenticated' | 'not-a-gateway' | 'unreachable' {
  const code = error instanceof DubboTunnelError ? error.code : undefined;
  if (code === 'DT_ERR_GATEWAY_NO_TOKEN') return 'no-token';
  if (code === 'DT_ERR_GATEWAY_UNAUTHENTICATED') return 'unauthenticated';
  if (code === 'DT_ERR_GATEWAY_PROTOCOL') return 'not-a-gateway';
  return 'unreachable';
}

/** The gateway check and, when it passed, the access check; either may be left out by `wanted`. */
export async function gatewayChecks(probe: ViaProbe, wanted: (id: 'gateway' | 'gateway-access') => boolean): Promise<CheckResult[]> {
  const started = performance.now();
  let hello: ViaHello;
  try {
    hello = await probe.hello();
  } catch (error) {
    // A usage error (a malformed --via) is the command line's, not a check's.
    if (error instanceof DubboTunnelError && error.code === 'DT_ERR_BAD_ARGUMENT') throw error;
    const problem = problemOf(error);
    const code = error instanceof DubboTunnelError ? error.code : undefined;
    const hint = error instanceof DubboTunnelError ? error.hint : undefined;
    const results = [];
    if (wanted('gateway')) {
      results.push(result('gateway', {
        status: 'fail', problem, details: [],
        summary: `${probe.target}: ${problem === 'not-a-gateway' ? 'something answers, but not as a dubbo-tunnel gateway of this version: ' : ''}${errorMessage(error)}`, elapsedMs: Math.round(performance.now() - started),
        // The catalogue's fix is the general one; the error's own hint names this cluster's objects.
        ...(hint === undefined || problem === 'not-a-gateway' ? {} : {fix: hint}),
        data: {target: probe.target, ...(code === undefined ? {} : {code})},
      }));
    }
    if (wanted('gateway-access')) results.push(result('gateway-access', {status: 'skip', summary: 'skipped: the gateway did not answer the hello', details: []}));
    return results;
  }
  const elapsedMs = Math.round(performance.now() - started);
  const results: CheckResult[] = [];
  if (wanted('gateway')) {
    results.push(result('gateway', {
      status: 'ok', summary: `${probe.target} answered the hello in ${elapsedMs} ms: it knows you as ${hello.user ?? '(no name)'}`, details: [], elapsedMs,
      data: {target: probe.target, user: hello.user ?? null},
    }));
  }
  if (wanted('gateway-access')) results.push(accessCheck(hello));
  return results;
}

function accessCheck(hello: ViaHello): CheckResult {
  const applications = [...hello.applications].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const refused = [...hello.refused].sort((a, b) => a.namespace.localeCompare(b.namespace));
  const details = textTable([
    ['NAMESPACE', 'APPLICATIONS', 'YOU MAY USE'],
    ...groupByNamespace(applications).map(([namespace, names]) => [namespace, names.join(', '), 'yes']),
    ...refused.map((entry) => [entry.namespace, `${entry.applications} (names withheld)`, entry.unchecked ? `not checked now (${entry.permission})` : `NO: missing ${entry.permission}`]),
  ], '  ');
  const data = {
    applications: applications.map((entry) => ({application: entry.name, namespace: entry.namespace})),
    refused: refused.map((entry) => ({namespace: entry.namespace, applications: entry.applications, permission: entry.permission, unchecked: entry.unchecked})),
  };
  const usable = `${applications.length} application${applications.length === 1 ? '' : 's'} you may use`;
  const denied = refused.filter((entry) => !entry.unchecked);
  if (applications.length === 0) {
    return result('gateway-access', {
      status: 'fail', problem: 'none', details, data,
      summary: `the gateway routes no application you may use${denied.length === 0 ? '' : `; missing: ${denied.map((entry) => entry.permission).join(', ')}`}`,
      ...(denied[0] === undefined ? {} : {fix: fixFor(denied[0].namespace)}),
    });
  }
  if (denied.length > 0) {
    return result('gateway-access', {
      status: 'warn', problem: 'refused', details, data,
      summary: `${usable}; refused in ${denied.map((entry) => `namespace ${entry.namespace} (${entry.applications}: missing ${entry.permission})`).join(', ')}`,
      fix: fixFor(denied[0]?.namespace ?? '<namespace>'),
    });
  }
  if (refused.length > 0) {
    return result('gateway-access', {
      status: 'warn', problem: 'unchecked', details, data,
      summary: `${usable}; not checked now in ${refused.map((entry) => `namespace ${entry.namespace}`).join(', ')}`,
    });
  }
  return result('gateway-access', {status: 'ok', summary: `${usable}: ${applications.map((entry) => `${entry.name} (${entry.namespace})`).join(', ')}`, details, data});
}

function fixFor(namespace: string): string {
  return `check with \`kubectl auth can-i get services -n ${namespace}\`, and ask for a RoleBinding that grants get services in namespace ${namespace} (docs/team-mode.md, Access)`;
}

function groupByNamespace(applications: readonly {name: string; namespace: string}[]): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const {name, namespace} of applications) groups.set(namespace, [...(groups.get(namespace) ?? []), name]);
  return [...groups];
}
