// `dubbo-tunnel gateway manifests` (the binary) parsed as YAML and held to a schema: what a safe
// Deployment needs, and the least privilege of the ClusterRole. And the Dockerfile: what its
// ENTRYPOINT runs is in the file list of `npm pack`.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {before, describe, test} from 'node:test';
import {loadAllYaml} from '@kubernetes/client-node';
import {BIN, ROOT, cleanEnv, ensureBuilt, runProgram} from '../support/binary.js';

type Json = Record<string, unknown>;

function at(value: unknown, ...keys: (string | number)[]): unknown {
  let current = value;
  for (const key of keys) {
    assert.ok(current !== null && typeof current === 'object', `missing ${keys.join('.')}`);
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

describe('dubbo-tunnel gateway manifests', () => {
  let objects: Json[] = [];
  const byKind = (kind: string): Json => {
    const found = objects.find((object) => object['kind'] === kind);
    assert.ok(found, `a ${kind}`);
    return found;
  };

  before(async () => {
    ensureBuilt();
    const run = await runProgram([process.execPath, BIN, 'gateway', 'manifests', '--namespace', 'team-gw'], cleanEnv({CI: 'true'}));
    assert.equal(run.code, 0, run.stderr);
    // Plain data: client-node's loader builds its model classes.
    objects = JSON.parse(JSON.stringify(loadAllYaml(run.stdout))) as Json[];
  });

  test('prints ServiceAccount, ClusterRole, ClusterRoleBinding, Deployment, Service and PodDisruptionBudget in the namespace asked', () => {
    assert.deepEqual(objects.map((object) => object['kind']), ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Service', 'PodDisruptionBudget']);
    for (const kind of ['ServiceAccount', 'Deployment', 'Service', 'PodDisruptionBudget']) assert.equal(at(byKind(kind), 'metadata', 'namespace'), 'team-gw', kind);
    assert.deepEqual(at(byKind('ClusterRoleBinding'), 'subjects'), [{kind: 'ServiceAccount', name: at(byKind('ServiceAccount'), 'metadata', 'name'), namespace: 'team-gw'}]);
    assert.equal(at(byKind('ClusterRoleBinding'), 'roleRef', 'name'), at(byKind('ClusterRole'), 'metadata', 'name'));
  });

  test('the ClusterRole is least privilege: tokenreviews and subjectaccessreviews create; services, endpointslices, ingresses list and watch; nothing else', () => {
    const granted = new Set<string>();
    for (const rule of at(byKind('ClusterRole'), 'rules') as Json[]) {
      for (const group of rule['apiGroups'] as string[]) for (const resource of rule['resources'] as string[]) for (const verb of rule['verbs'] as string[]) granted.add(`${group}/${resource}:${verb}`);
    }
    assert.deepEqual([...granted].sort(), [
      '/services:list', '/services:watch',
      'authentication.k8s.io/tokenreviews:create',
      'authorization.k8s.io/subjectaccessreviews:create',
      'discovery.k8s.io/endpointslices:list', 'discovery.k8s.io/endpointslices:watch',
      'networking.k8s.io/ingresses:list', 'networking.k8s.io/ingresses:watch',
    ]);
  });

  test('the Deployment: 2 replicas, probes on the admin port, resources, non-root, read-only root filesystem, grace period longer than the drain', () => {
    const deployment = byKind('Deployment');
    assert.equal(at(deployment, 'spec', 'replicas'), 2);
    const pod = at(deployment, 'spec', 'template', 'spec') as Json;
    assert.equal(at(pod, 'serviceAccountName'), at(byKind('ServiceAccount'), 'metadata', 'name'));
    assert.equal(at(pod, 'securityContext', 'runAsNonRoot'), true);
    const container = at(pod, 'containers', 0) as Json;
    assert.equal(at(container, 'securityContext', 'readOnlyRootFilesystem'), true);
    assert.equal(at(container, 'securityContext', 'runAsNonRoot'), true);
    assert.equal(at(container, 'securityContext', 'allowPrivilegeEscalation'), false);
    assert.equal(at(container, 'readinessProbe', 'httpGet', 'path'), '/readyz');
    assert.equal(at(container, 'livenessProbe', 'httpGet', 'path'), '/healthz');
    assert.equal(typeof at(container, 'resources', 'requests', 'cpu'), 'string');
    assert.equal(typeof at(container, 'resources', 'requests', 'memory'), 'string');
    assert.equal(typeof at(container, 'resources', 'limits', 'memory'), 'string');
    const args = at(container, 'args') as string[];
    assert.equal(args[0], 'gateway');
    const ports = (at(container, 'ports') as Json[]).map((port) => port['containerPort']);
    assert.ok(args.includes(`--port=${String(ports[0])}`) && args.includes(`--admin-port=${String(ports[1])}`), 'the args listen where the ports say');
    // The drain (default 20 s) must end before the kubelet kills the pod.
    assert.ok((at(pod, 'terminationGracePeriodSeconds') as number) > 20);
  });

  test('the Service selects the pods and the PodDisruptionBudget keeps one available', () => {
    const labels = at(byKind('Deployment'), 'spec', 'template', 'metadata', 'labels');
    assert.deepEqual(at(byKind('Service'), 'spec', 'selector'), labels);
    assert.deepEqual(at(byKind('PodDisruptionBudget'), 'spec', 'selector', 'matchLabels'), labels);
    assert.equal(at(byKind('PodDisruptionBudget'), 'spec', 'minAvailable'), 1);
  });

  test('every object carries the component label discovery skips, so the gateway\'s Service is never an application', () => {
    for (const object of objects) {
      assert.equal(at(object, 'metadata', 'labels', 'app.kubernetes.io/component'), 'dubbo-tunnel-gateway', String(at(object, 'kind')));
    }
  });
});

function grants(objects: Json[]): string[] {
  const role = objects.find((object) => object['kind'] === 'ClusterRole');
  const granted = new Set<string>();
  for (const rule of at(role, 'rules') as Json[]) {
    for (const group of rule['apiGroups'] as string[]) for (const resource of rule['resources'] as string[]) for (const verb of rule['verbs'] as string[]) granted.add(`${group}/${resource}:${verb}`);
  }
  return [...granted].sort();
}

function deploymentArgs(objects: Json[]): string[] {
  return at(objects.find((object) => object['kind'] === 'Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'args') as string[];
}

describe('dubbo-tunnel gateway manifests --namespace-selector', () => {
  async function manifests(...extra: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
    return runProgram([process.execPath, BIN, 'gateway', 'manifests', '--namespace', 'team-gw', ...extra], cleanEnv({CI: 'true'}));
  }

  before(() => ensureBuilt());

  test('with a selector: the ClusterRole also lists and watches namespaces, and the Deployment passes the selector instead of -A', async () => {
    const run = await manifests('--namespace-selector', 'dubbo-tunnel.io/gateway in (team-a,team-b)');
    assert.equal(run.code, 0, run.stderr);
    const objects = JSON.parse(JSON.stringify(loadAllYaml(run.stdout))) as Json[];
    assert.deepEqual(grants(objects), [
      '/namespaces:list', '/namespaces:watch',
      '/services:list', '/services:watch',
      'authentication.k8s.io/tokenreviews:create',
      'authorization.k8s.io/subjectaccessreviews:create',
      'discovery.k8s.io/endpointslices:list', 'discovery.k8s.io/endpointslices:watch',
      'networking.k8s.io/ingresses:list', 'networking.k8s.io/ingresses:watch',
    ]);
    const args = deploymentArgs(objects);
    assert.ok(args.includes('--namespace-selector=dubbo-tunnel.io/gateway in (team-a,team-b)'), args.join(' '));
    assert.ok(!args.includes('--all-namespaces') && !args.some((arg) => arg.startsWith('--namespace=')), args.join(' '));
  });

  test('without a selector: no rule for namespaces at all (least privilege), and the Deployment discovers with -A or the namespaces named', async () => {
    for (const [extra, scope] of [[[], ['--all-namespaces']], [['--watch-namespace', 'shop', '--watch-namespace', 'billing'], ['--namespace=shop', '--namespace=billing']]] as const) {
      const run = await manifests(...extra);
      assert.equal(run.code, 0, run.stderr);
      const objects = JSON.parse(JSON.stringify(loadAllYaml(run.stdout))) as Json[];
      assert.ok(!grants(objects).some((grant) => grant.startsWith('/namespaces:')), grants(objects).join(' '));
      const args = deploymentArgs(objects);
      assert.deepEqual(args.filter((arg) => arg.startsWith('--namespace') || arg === '--all-namespaces'), [...scope]);
    }
  });

  test('a selector with --watch-namespace, or one kubectl could not read, is a coded usage error', async () => {
    const both = await manifests('--namespace-selector', 'team=a', '--watch-namespace', 'shop');
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /DT_ERR_BAD_ARGUMENT/);
    const bad = await manifests('--namespace-selector', 'team in a,b)');
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /DT_ERR_BAD_ARGUMENT.*invalid label selector/);
  });
});

describe('Dockerfile', () => {
  test('installs the packed package and runs its dubbo-tunnel bin, whose files npm pack includes', () => {
    ensureBuilt();
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {name: string; bin: Record<string, string>};
    assert.match(dockerfile, new RegExp(`^COPY ${manifest.name}-\\*\\.tgz `, 'm'), 'copies what npm pack writes (<name>-<version>.tgz)');
    assert.match(dockerfile, /^RUN npm install --global .*\.tgz/m);
    const entrypoint = /^ENTRYPOINT \["([^"]+)"\]/m.exec(dockerfile)?.[1];
    assert.ok(entrypoint !== undefined && manifest.bin[entrypoint] !== undefined, 'the ENTRYPOINT is a bin of the package');
    assert.match(dockerfile, /^CMD \["gateway"\]/m);
    assert.match(dockerfile, /^USER node$/m);
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {cwd: ROOT, encoding: 'utf8', env: cleanEnv({})})) as {files: {path: string}[]}[];
    const files = new Set(packed[0]?.files.map((file) => file.path));
    assert.ok(files.has(manifest.bin[entrypoint]?.replace(/^\.\//, '') ?? ''), 'the bin is packed');
    assert.ok(files.has('dist/cli.js'), 'what the bin loads is packed');
    assert.ok([...files].some((file) => /^dist\/chunks\/gateway-[\w-]+\.js$/.test(file)), 'the gateway command (a chunk of its own) is packed');
  });
});
