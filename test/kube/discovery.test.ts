import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {GATEWAY_COMPONENT, GATEWAY_COMPONENT_LABEL} from '../../src/core/applications.js';
import {DubboTunnelError} from '../../src/core/errors.js';
import {applicationsFromIngress, dubboPortOf, resolveApplications} from '../../src/kube/discovery.js';
import type {DiscoveryRules} from '../../src/kube/discovery.js';
import {targetsFromEndpoints, targetsFromSlices} from '../../src/kube/endpoints.js';
import {matchesSelector, parseLabelSelector} from '../../src/kube/label-selector.js';
import type {EndpointSlice, Ingress, Service} from '../../src/kube/types.js';
import {startKube, startNoSlicesProxy} from './helpers.js';
import type {KubeFixture} from './helpers.js';

const RULES: DiscoveryRules = {source: 'auto', ingressClass: 'dubbo', applicationAnnotation: 'dubbo-tunnel.io/application'};

function service(name: string, ports: Service['spec'] extends infer S ? S extends {ports?: infer P} ? P : never : never, extra: {namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>} = {}): Service {
  return {
    metadata: {name, namespace: extra.namespace ?? 'default', labels: extra.labels, annotations: extra.annotations},
    spec: {selector: {app: name}, ports},
  };
}

function ingress(name: string, spec: Ingress['spec'], extra: {namespace?: string; annotations?: Record<string, string>} = {}): Ingress {
  return {metadata: {name, namespace: extra.namespace ?? 'default', annotations: extra.annotations}, spec};
}

describe('discovery rules (pure)', () => {
  it('never takes the team gateway\'s own Service (its component label) for an application', () => {
    const gatewayLabels = {[GATEWAY_COMPONENT_LABEL]: GATEWAY_COMPONENT};
    const {applications} = resolveApplications({
      ingresses: [],
      services: [
        service('dubbo-tunnel-gateway', [{name: 'gateway', port: 20880}, {name: 'admin', port: 8081}], {labels: gatewayLabels}),
        service('user-rpc', [{name: 'dubbo', port: 20880}], {labels: {[GATEWAY_COMPONENT_LABEL]: 'backend'}}),
      ],
      rules: RULES,
    });
    assert.deepEqual(applications.map((application) => application.application), ['user-rpc'], 'another component value is an application as usual');
  });

  it('finds the Dubbo port: dubbo, dubbo-*, appProtocol, then 20880', () => {
    assert.equal(dubboPortOf(service('a', [{name: 'http', port: 80}, {name: 'dubbo', port: 1234}]))?.port, 1234);
    assert.equal(dubboPortOf(service('b', [{name: 'http', port: 80}, {name: 'dubbo-rpc', port: 4321}]))?.port, 4321);
    assert.equal(dubboPortOf(service('c', [{name: 'rpc', port: 9000, appProtocol: 'dubbo'}]))?.port, 9000);
    assert.equal(dubboPortOf(service('d', [{port: 20880}]))?.port, 20880);
    assert.equal(dubboPortOf(service('e', [{name: 'x', port: 80, targetPort: 20880}]))?.port, 80);
    assert.equal(dubboPortOf(service('f', [{name: 'http', port: 80}])), undefined);
    assert.equal(dubboPortOf(service('g', [{name: 'dubbo', port: 20880, protocol: 'UDP'}])), undefined);
  });

  it('maps Ingress rules to applications: host, named and numbered ports, defaultBackend, annotation', () => {
    const services = new Map([
      ['default/user-rpc', service('user-rpc', [{name: 'dubbo', port: 20880, targetPort: 'dubbo'}])],
      ['default/order-rpc', service('order-rpc', [{name: 'rpc', port: 20881, targetPort: 30000}])],
    ]);
    const {applications, warnings} = applicationsFromIngress(ingress('routes', {
      ingressClassName: 'dubbo',
      defaultBackend: {service: {name: 'order-rpc', port: {number: 20881}}},
      rules: [
        {host: 'user-rpc', http: {paths: [{path: '/', pathType: 'Prefix', backend: {service: {name: 'user-rpc', port: {name: 'dubbo'}}}}]}},
        {host: 'order-rpc'},
        {host: 'ghost-rpc', http: {paths: [{backend: {service: {name: 'ghost', port: {number: 20880}}}}]}},
        {host: '*.wild', http: {paths: [{backend: {service: {name: 'user-rpc', port: {name: 'dubbo'}}}}]}},
      ],
    }), services, RULES);
    const byName = new Map(applications.map((application) => [application.application, application]));
    assert.deepEqual(byName.get('user-rpc')?.servicePort, {name: 'dubbo', port: 20880, targetPort: 'dubbo'});
    assert.equal(byName.get('user-rpc')?.port, 'dubbo');
    assert.deepEqual(byName.get('order-rpc')?.servicePort, {name: 'rpc', port: 20881, targetPort: 30000}, 'a rule without http uses defaultBackend');
    assert.match(byName.get('ghost-rpc')?.problem ?? '', /service default\/ghost .* does not exist/);
    assert.equal(byName.has('*.wild'), false);
    assert.ok(warnings.some((warning) => warning.includes('wildcard')));
    const renamed = applicationsFromIngress(ingress('pay', {ingressClassName: 'dubbo', rules: [{host: 'pay-service', http: {paths: [{backend: {service: {name: 'user-rpc', port: {name: 'dubbo'}}}}]}}]},
      {annotations: {'dubbo-tunnel.io/application': 'Pay_Service'}}), services, RULES);
    assert.equal(renamed.applications[0]?.application, 'Pay_Service', 'the annotation gives names a host cannot carry');
  });

  it('honours the class (field or legacy annotation), the source mode, and lets an Ingress win over a Service', () => {
    const services = [
      service('user-rpc', [{name: 'dubbo', port: 20880}]),
      service('billing', [{name: 'dubbo', port: 20880}], {annotations: {'dubbo-tunnel.io/application': 'Billing_App'}}),
      service('web', [{name: 'http', port: 80}]),
    ];
    const ingresses = [
      ingress('user-rpc', {ingressClassName: 'dubbo', rules: [{host: 'user-rpc', http: {paths: [{backend: {service: {name: 'user-rpc', port: {number: 20880}}}}]}}]}),
      ingress('legacy', {rules: [{host: 'legacy-rpc', http: {paths: [{backend: {service: {name: 'user-rpc', port: {name: 'dubbo'}}}}]}}]}, {annotations: {'kubernetes.io/ingress.class': 'dubbo'}}),
      ingress('nginx', {ingressClassName: 'nginx', rules: [{host: 'web.example.com', http: {paths: [{backend: {service: {name: 'web', port: {number: 80}}}}]}}]}),
    ];
    const auto = resolveApplications({ingresses, services, rules: RULES});
    assert.deepEqual(auto.applications.map((application) => `${application.application}:${application.source}`), ['Billing_App:service', 'legacy-rpc:ingress', 'user-rpc:ingress']);
    const onlyIngress = resolveApplications({ingresses, services, rules: {...RULES, source: 'ingress'}});
    assert.deepEqual(onlyIngress.applications.map((application) => application.application), ['legacy-rpc', 'user-rpc']);
    const onlyService = resolveApplications({ingresses, services, rules: {...RULES, source: 'service'}});
    assert.deepEqual(onlyService.applications.map((application) => `${application.application}:${application.source}`), ['Billing_App:service', 'user-rpc:service']);
    const otherClass = resolveApplications({ingresses, services, rules: {...RULES, source: 'ingress', ingressClass: 'nginx'}});
    assert.deepEqual(otherClass.applications.map((application) => application.application), ['web.example.com']);
  });

  it('settles clashes across namespaces deterministically and warns', () => {
    const services = [
      service('user-rpc', [{name: 'dubbo', port: 20880}], {namespace: 'zeta'}),
      service('user-rpc', [{name: 'dubbo', port: 20880}], {namespace: 'alpha'}),
      service('user-rpc', [{name: 'dubbo', port: 20880}], {namespace: 'mine'}),
    ];
    const preferred = resolveApplications({ingresses: [], services, rules: RULES, preferredNamespace: 'mine'});
    assert.equal(preferred.applications[0]?.namespace, 'mine');
    assert.ok(preferred.warnings.some((warning) => /user-rpc exists in namespaces .*using mine/.test(warning)));
    const sorted = resolveApplications({ingresses: [], services: services.slice(0, 2), rules: RULES, preferredNamespace: 'default'});
    assert.equal(sorted.applications[0]?.namespace, 'alpha');
  });

  it('filters Services with -l label selectors (kubectl syntax)', () => {
    const selector = parseLabelSelector('tier in (rpc, backend),!canary,team!=ops');
    assert.equal(matchesSelector(selector, {tier: 'rpc'}), true);
    assert.equal(matchesSelector(selector, {tier: 'rpc', canary: 'yes'}), false);
    assert.equal(matchesSelector(selector, {tier: 'rpc', team: 'ops'}), false);
    assert.equal(matchesSelector(selector, {tier: 'web'}), false);
    assert.equal(matchesSelector(parseLabelSelector('app=user-rpc'), {app: 'user-rpc'}), true);
    assert.equal(matchesSelector(parseLabelSelector('app==user-rpc'), {app: 'x'}), false);
    assert.throws(() => parseLabelSelector('app=(bad'), (error: unknown) => error instanceof DubboTunnelError && error.code === 'DT_ERR_BAD_ARGUMENT');
    const services = [service('a', [{name: 'dubbo', port: 20880}], {labels: {tier: 'rpc'}}), service('b', [{name: 'dubbo', port: 20880}], {labels: {tier: 'web'}})];
    const filtered = resolveApplications({ingresses: [], services, rules: {...RULES, selector: parseLabelSelector('tier=rpc')}});
    assert.deepEqual(filtered.applications.map((application) => application.application), ['a']);
  });

  it('applies -l to applications named by an Ingress: its labels together with its Service\'s', () => {
    const services = [
      service('user-rpc', [{name: 'dubbo', port: 20880}], {labels: {app: 'user-rpc', tier: 'rpc'}}),
      service('pay-rpc', [{name: 'dubbo', port: 20880}], {labels: {app: 'pay-rpc', tier: 'rpc'}}),
    ];
    const ingress = (name: string, labels: Record<string, string> = {}): Ingress => ({
      metadata: {name, namespace: 'default', labels},
      spec: {ingressClassName: 'dubbo', rules: [{host: name, http: {paths: [{path: '/', pathType: 'Prefix', backend: {service: {name, port: {number: 20880}}}}]}}]},
    });
    const ingresses = [ingress('user-rpc', {team: 'accounts'}), ingress('pay-rpc')];
    const names = (selector: string) => resolveApplications({ingresses, services, rules: {...RULES, source: 'ingress', selector: parseLabelSelector(selector)}})
      .applications.map((application) => application.application);
    assert.deepEqual(names('app!=user-rpc'), ['pay-rpc'], 'the Service\'s labels count');
    assert.deepEqual(names('team=accounts'), ['user-rpc'], 'the Ingress\'s own labels count');
    assert.deepEqual(names('tier=rpc'), ['pay-rpc', 'user-rpc']);
    assert.deepEqual(resolveApplications({ingresses, services, rules: {...RULES, selector: parseLabelSelector('app!=user-rpc')}}).applications.map((application) => application.application), ['pay-rpc'], 'with --source auto too');
  });

  it('reads ready pods and the resolved port from EndpointSlices and Endpoints', () => {
    const slice = (name: string, addressType: string, endpoints: EndpointSlice['endpoints']): EndpointSlice => ({
      metadata: {name, namespace: 'default', labels: {'kubernetes.io/service-name': 'user-rpc'}},
      addressType,
      ports: [{name: 'dubbo', port: 30001, protocol: 'TCP'}],
      endpoints,
    });
    const pod = (name: string) => ({kind: 'Pod', name});
    const targets = targetsFromSlices([
      slice('v4', 'IPv4', [
        {conditions: {ready: true}, targetRef: pod('p-ready')},
        {conditions: {ready: null}, targetRef: pod('p-nil')},
        {conditions: {ready: false}, targetRef: pod('p-dual')},
        {conditions: {ready: false, terminating: true}, targetRef: pod('p-terminating')},
        {conditions: {ready: true}},
      ]),
      slice('v6', 'IPv6', [{conditions: {ready: true}, targetRef: pod('p-dual')}]),
    ], 'default', 'user-rpc', {name: 'dubbo', port: 20880, targetPort: 'dubbo'});
    assert.deepEqual(targets.ready.map((target) => `${target.pod}:${target.port}`), ['p-dual:30001', 'p-nil:30001', 'p-ready:30001']);
    assert.equal(targets.all.length, 4);
    assert.equal(targets.withoutPod, 1);
    const legacy = targetsFromEndpoints({subsets: [{addresses: [{targetRef: pod('a')}], notReadyAddresses: [{targetRef: pod('b')}], ports: [{name: 'dubbo', port: 30002}]}]},
      {name: 'dubbo', port: 20880, targetPort: 'dubbo'});
    assert.deepEqual(legacy.ready.map((target) => `${target.pod}:${target.port}`), ['a:30002']);
  });
});

describe('discovery against the API server', () => {
  let kube: KubeFixture;
  before(async () => {
    kube = await startKube();
    const {api} = kube;
    api.addDubboApp({name: 'user-rpc', pods: [{name: 'user-rpc-1'}, {name: 'user-rpc-2', ready: false}], serviceLabels: {tier: 'rpc'}});
    api.addDubboApp({name: 'order-rpc', ingress: true, targetPort: 'rpc-port', containerPort: 30880, pods: [{name: 'order-rpc-1'}]});
    api.addDubboApp({name: 'pay', application: 'Pay_Service', ingress: {viaAnnotation: true, backendPort: 'number'}, pods: [{name: 'pay-1'}]});
    api.addDubboApp({name: 'legacy', portName: 'rpc', servicePort: 20880, pods: []});
    api.apply({apiVersion: 'v1', kind: 'Service', metadata: {name: 'web', namespace: 'default'}, spec: {selector: {app: 'web'}, ports: [{name: 'http', port: 80, targetPort: 8080}]}});
    api.addDubboApp({namespace: 'team-b', name: 'user-rpc', pods: [{name: 'user-rpc-b'}]});
    api.addDubboApp({namespace: 'team-b', name: 'stock-rpc', pods: [{name: 'stock-rpc-1'}]});
  });
  after(async () => kube.close());

  it('lists Ingress and Service backends with ready counts', async () => {
    const cluster = await kube.open();
    assert.equal(cluster.namespace, 'default');
    const applications = await cluster.discover();
    assert.deepEqual(applications.map((application) => [application.application, application.source, application.service, application.port, application.readyPods]), [
      ['legacy', 'service', 'legacy', 'rpc', 0],
      ['order-rpc', 'ingress', 'order-rpc', 'dubbo', 1],
      ['Pay_Service', 'ingress', 'pay', 20880, 1],
      ['user-rpc', 'service', 'user-rpc', 'dubbo', 1],
    ]);
  });

  it('applies --source, -l and --ingress-class', async () => {
    assert.deepEqual((await (await kube.open({source: 'ingress'})).discover()).map((application) => application.application), ['order-rpc', 'Pay_Service']);
    assert.deepEqual((await (await kube.open({source: 'service', selector: 'tier=rpc'})).discover()).map((application) => application.application), ['user-rpc']);
    assert.deepEqual((await (await kube.open({source: 'ingress', ingressClass: 'other'})).discover()), []);
  });

  it('searches every namespace with -A and warns about clashing names', async () => {
    const cluster = await kube.open({allNamespaces: true});
    assert.equal(cluster.namespace, undefined);
    const applications = await cluster.discover();
    const user = applications.find((application) => application.application === 'user-rpc');
    assert.equal(user?.namespace, 'default', 'the context namespace wins a clash');
    assert.ok(applications.some((application) => application.application === 'stock-rpc' && application.namespace === 'team-b'));
    assert.ok(kube.logs.some((entry) => entry.level === 'warn' && /user-rpc exists in namespaces default, team-b/.test(entry.message)));
  });

  it('says what was searched when nothing is found, and spots an unknown namespace', async () => {
    const empty = await kube.open({namespace: 'kube-public'});
    assert.deepEqual(await empty.discover(), []);
    const error = await empty.noBackendsError();
    assert.equal(error.code, 'DT_ERR_NO_BACKENDS');
    assert.match(error.message, /namespace kube-public/);
    assert.match(error.message, /Ingresses of class dubbo/);
    assert.match(error.message, /port named dubbo/);
    assert.match(error.hint ?? '', /ingressClassName: dubbo/);
    const unknown = await kube.open({namespace: 'no-such-ns'});
    const unknownError = await unknown.noBackendsError();
    assert.match(unknownError.message, /namespace no-such-ns does not exist/);
  });

  it('names the missing permission on 403', async () => {
    kube.api.deny({verb: 'list', resource: 'services', namespace: 'default'});
    try {
      const cluster = await kube.open();
      await assert.rejects(cluster.discover(), (error: unknown) => {
        assert.ok(error instanceof DubboTunnelError);
        assert.equal(error.code, 'DT_ERR_KUBE_FORBIDDEN');
        assert.match(error.message, /not allowed to list services in namespace default/);
        assert.match(error.hint ?? '', /resources: \["services"\]/);
        return true;
      });
    } finally {
      kube.api.resetRbac();
    }
    // Without permission for Ingresses, auto mode still finds Services (and says why Ingresses are missing).
    kube.api.deny({verb: 'list', resource: 'ingresses'});
    try {
      const cluster = await kube.open();
      const names = (await cluster.discover()).map((application) => application.application);
      assert.deepEqual(names, ['legacy', 'order-rpc', 'Pay_Service', 'user-rpc'], 'the Service carries the annotation too');
      assert.ok(kube.logs.some((entry) => /skipping Ingresses: not allowed to list ingresses.networking.k8s.io/.test(entry.message)));
      await assert.rejects((await kube.open({source: 'ingress'})).discover(), {code: 'DT_ERR_KUBE_FORBIDDEN'});
    } finally {
      kube.api.resetRbac();
    }
  });

  it('counts ready pods from core Endpoints where EndpointSlices are not served', async () => {
    const proxy = await startNoSlicesProxy(kube.api.url);
    try {
      const file = kube.api.writeKubeconfig(kube.dir, {fileName: 'proxy.yaml', server: proxy.url});
      const cluster = await kube.open({kubeconfig: file});
      const applications = await cluster.discover();
      assert.equal(applications.find((application) => application.application === 'user-rpc')?.readyPods, 1);
      assert.equal(applications.find((application) => application.application === 'order-rpc')?.readyPods, 1);
    } finally {
      await proxy.close();
    }
  });

  it('reports an unreachable API server with its URL', async () => {
    const file = kube.api.writeKubeconfig(kube.dir, {fileName: 'down.yaml', server: 'http://127.0.0.1:1'});
    const cluster = await kube.open({kubeconfig: file});
    await assert.rejects(cluster.discover(), (error: unknown) => {
      assert.ok(error instanceof DubboTunnelError);
      assert.equal(error.code, 'DT_ERR_KUBE_UNREACHABLE');
      assert.match(error.message, /cannot reach the API server http:\/\/127\.0\.0\.1:1: connection refused/);
      return true;
    });
  });

  it('rejects 401 with a re-login hint', async () => {
    const file = kube.api.writeKubeconfig(kube.dir, {fileName: 'bad-token.yaml', token: 'expired'});
    const cluster = await kube.open({kubeconfig: file});
    await assert.rejects(cluster.discover(), (error: unknown) => {
      assert.ok(error instanceof DubboTunnelError);
      assert.equal(error.code, 'DT_ERR_KUBE_UNAUTHORIZED');
      assert.match(error.hint ?? '', /log in again/);
      return true;
    });
  });
});
