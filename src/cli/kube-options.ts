import {resolveSettings} from '../config/settings.js';
import type {Settings} from '../config/settings.js';
import {DubboTunnelError} from '../core/errors.js';
import type {ClusterOptions, SourceMode} from '../kube/cluster.js';
import type {OptionHelp} from './command.js';

/**
 * The Kubernetes flags shared by `ls`, `up` and `doctor`. Spread KUBE_OPTIONS into the command's
 * parseArgs options, then turn the parsed values into ClusterOptions with `kubeOptionsFrom`.
 */
export const KUBE_OPTIONS = {
  'kubeconfig': {type: 'string'},
  'context': {type: 'string', multiple: true},
  'namespace': {type: 'string', short: 'n', multiple: true},
  'all-namespaces': {type: 'boolean', short: 'A'},
  'source': {type: 'string'},
  'selector': {type: 'string', short: 'l'},
  'ingress-class': {type: 'string'},
} as const;

export const KUBE_OPTIONS_HELP: readonly OptionHelp[] = [
  {flags: '--kubeconfig <file>', description: 'kubeconfig file to use (default: KUBECONFIG, several files allowed, else ~/.kube/config)'},
  {flags: '--context <name>', description: 'kubeconfig context (default: the current context); repeat for several contexts'},
  {flags: '-n, --namespace <ns>', description: 'namespace to search (default: the context\'s namespace, else default); repeat for several'},
  {flags: '-A, --all-namespaces', description: 'search every namespace (needs cluster-wide list/watch permission)'},
  {flags: '--source <source>', description: 'ingress | service | auto: where backends come from (default auto = both, an Ingress wins)'},
  {flags: '-l, --selector <selector>', description: 'only Services with these labels, kubectl syntax (e.g. tier=rpc)'},
  {flags: '--ingress-class <class>', description: 'Ingress class that marks Dubbo backends (default dubbo)'},
];

/** The parsed values of KUBE_OPTIONS, as node:util parseArgs returns them. */
export interface KubeOptionValues {
  'kubeconfig'?: string;
  'context'?: string[];
  'namespace'?: string[];
  'all-namespaces'?: boolean;
  'source'?: string;
  'selector'?: string;
  'ingress-class'?: string;
}

export type KubeCliOptions = Omit<ClusterOptions, 'events' | 'env' | 'execStderr' | 'interactive'>;

function isSource(value: string): value is SourceMode {
  return value === 'ingress' || value === 'service' || value === 'auto';
}

/** A bad --source is a usage error (exit 2), caught before the settings resolver sees it. */
export function checkSourceFlag(values: KubeOptionValues): void {
  if (values.source !== undefined && !isSource(values.source)) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--source must be ingress, service or auto, got '${values.source}'`);
  }
}

/**
 * Validates the shared flags; throws DT_ERR_BAD_ARGUMENT with a hint. `--source` and
 * `--ingress-class` are also settings (DUBBO_TUNNEL_SOURCE, `config set source`), so they go through
 * the one settings resolver: a flag wins, then the environment, then the config file.
 */
export function kubeOptionsFrom(
  values: KubeOptionValues,
  env: NodeJS.ProcessEnv = process.env,
  /** Settings the caller already resolved with these flags (up does), so they are not resolved twice. */
  resolved?: Pick<Settings, 'source' | 'ingressClass'>,
): KubeCliOptions {
  checkSourceFlag(values);
  const settings = resolved ?? resolveSettings({flags: {source: values.source, ingressClass: values['ingress-class']}, env}).values;
  const source = settings.source;
  if (!isSource(source)) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--source must be ingress, service or auto, got '${String(source)}'`);
  }
  if (values['all-namespaces'] === true && values.namespace !== undefined) {
    throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', '-n/--namespace and -A/--all-namespaces cannot be used together', {
      hint: 'use -n <ns> for one namespace, or -A for all of them',
    });
  }
  for (const flag of ['kubeconfig', 'ingress-class'] as const) {
    if (values[flag] === '') throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--${flag} needs a value`);
  }
  const {contexts, namespaces} = kubePlacesFrom(values);
  const options: KubeCliOptions = {};
  if (values.kubeconfig !== undefined) options.kubeconfig = values.kubeconfig;
  if (contexts[0] !== undefined) options.context = contexts[0];
  if (namespaces[0] !== undefined) options.namespace = namespaces[0];
  if (values['all-namespaces'] === true) options.allNamespaces = true;
  options.source = source;
  if (values.selector !== undefined) options.selector = values.selector;
  options.ingressClass = settings.ingressClass;
  return options;
}

/** True when any Kubernetes flag was given (e.g. for `up`: kube mode even with --backend). */
export function hasKubeOptions(values: KubeOptionValues): boolean {
  return Object.keys(KUBE_OPTIONS).some((flag) => values[flag as keyof KubeOptionValues] !== undefined);
}

/**
 * Every --context and -n given, in order and without repeats (a session reads each context with
 * each namespace). Empty lists mean the current context and its namespace.
 */
export function kubePlacesFrom(values: Pick<KubeOptionValues, 'context' | 'namespace'>): {contexts: string[]; namespaces: string[]} {
  const list = (flag: 'context' | 'namespace'): string[] => {
    const given = values[flag] ?? [];
    if (given.some((value) => value.trim() === '')) throw new DubboTunnelError('DT_ERR_BAD_ARGUMENT', `--${flag} needs a value`);
    return [...new Set(given.map((value) => value.trim()))];
  };
  return {contexts: list('context'), namespaces: list('namespace')};
}
