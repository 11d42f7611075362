/** Kubeconfig text for the fake server, in the layout `kubectl config view --raw` prints. */

export interface KubeconfigExec {
  command: string;
  args?: string[];
  env?: {name: string; value: string}[];
  apiVersion?: string;
}

export interface KubeconfigContextOptions {
  /** Context name (default "fake"); the cluster is "<context>-cluster", the user "<context>-user" unless `user` says. */
  name?: string;
  namespace?: string;
  /** Bearer token; defaults to the server's token. Ignored when `exec` is given. */
  token?: string;
  /** Name of the kubeconfig user entry. */
  user?: string;
  exec?: KubeconfigExec;
  /** Server URL; defaults to the fake's own. */
  server?: string;
}

export interface KubeconfigOptions extends Omit<KubeconfigContextOptions, 'name'> {
  /** Name of the current context (default "fake"). */
  context?: string;
  /** More contexts, each with its own cluster and user entries. */
  extraContexts?: KubeconfigContextOptions[];
}

export interface ServerTrust {
  server: string;
  token: string;
  /** PEM of the CA that signed the server certificate (https only). */
  caPem?: string;
}

type Yaml = string | number | boolean | null | undefined | Yaml[] | {[key: string]: Yaml};

/** Minimal block-style YAML emitter; strings are JSON-quoted, which is valid YAML. */
function toYaml(value: Yaml, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return ' []\n';
    return '\n' + value.map((item) => {
      const body = toYaml(item, indent + '  ');
      return `${indent}- ${body.startsWith('\n') ? body.trimStart() : body.trimStart()}`;
    }).join('');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return ' {}\n';
    return '\n' + entries.map(([k, v]) => {
      const body = toYaml(v, indent + '  ');
      return `${indent}${k}:${body.startsWith('\n') ? body : ' ' + body.trimStart()}`;
    }).join('');
  }
  if (value === null || value === undefined) return 'null\n';
  if (typeof value === 'string') return `${JSON.stringify(value)}\n`;
  return `${String(value)}\n`;
}

export function renderKubeconfig(trust: ServerTrust, options: KubeconfigOptions = {}): string {
  const all: KubeconfigContextOptions[] = [{...options, name: options.context ?? 'fake'}, ...(options.extraContexts ?? [])];
  const names = new Set<string>();
  const clusters: Yaml[] = [];
  const users: Yaml[] = [];
  const contexts: Yaml[] = [];
  for (const ctx of all) {
    const name = ctx.name ?? 'fake';
    if (names.has(name)) throw new Error(`fake-kube-api: duplicate kubeconfig context "${name}"`);
    names.add(name);
    const server = ctx.server ?? trust.server;
    const https = server.startsWith('https:');
    clusters.push({
      name: `${name}-cluster`,
      cluster: {
        server,
        ...(https && trust.caPem !== undefined
          ? {'certificate-authority-data': Buffer.from(trust.caPem).toString('base64')}
          // client-node refuses plain http unless TLS verification is explicitly off.
          : {'insecure-skip-tls-verify': true}),
      },
    });
    const userName = ctx.user ?? `${name}-user`;
    const user: Yaml = ctx.exec !== undefined
      ? {
        exec: {
          apiVersion: ctx.exec.apiVersion ?? 'client.authentication.k8s.io/v1',
          command: ctx.exec.command,
          args: ctx.exec.args ?? [],
          env: ctx.exec.env ?? null,
          interactiveMode: 'Never',
          provideClusterInfo: false,
        },
      }
      : {token: ctx.token ?? trust.token};
    if (!users.some((u) => (u as {name: string}).name === userName)) users.push({name: userName, user});
    contexts.push({
      name,
      context: {cluster: `${name}-cluster`, user: userName, ...(ctx.namespace === undefined ? {} : {namespace: ctx.namespace})},
    });
  }
  return 'apiVersion: v1\nkind: Config\npreferences: {}' + toYaml({
    clusters,
    users,
    contexts,
    'current-context': options.context ?? 'fake',
  }).replace(/^\n/, '\n');
}
