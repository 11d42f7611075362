// The fake Kubernetes API server of the gateway bench (bench/gateway.mjs), in a process of its own
// (it relays the laptops' port-forward bytes; in the load generator it would take that process's
// time). The tests' fake (test/support/fake-kube-api.ts) over TLS, as the in-cluster client needs,
// loaded through tsx. Every user may do everything (no rules set).
// IPC: setup {dir, users: {token: user}, namespace, apps: [{name, containerPort}]} -> {serviceAccountDir,
// port, kubeconfigs: {user: path}}; gateway-service {namespace, name, port} (the gateway's own
// Service, its pod forwarding to 127.0.0.1:port); served -> the port-forward upgrades so far; stop.
import process from 'node:process';
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {register} from 'tsx/esm/api';

register();
const {FakeKubeApi} = await import('../test/support/fake-kube-api.ts');
let api;

process.on('message', async (msg) => {
  if (msg.type === 'setup') {
    api = await FakeKubeApi.start({tls: true, users: msg.users, namespaces: ['default', msg.namespace, msg.gatewayNamespace], bookmarkIntervalMs: 0});
    // Pods are dialled by IP from the gateway: 127.0.0.1 and the provider's port as containerPort.
    for (const app of msg.apps) api.addDubboApp({namespace: msg.namespace, name: app.name, containerPort: app.containerPort, pods: [{name: `${app.name}-0`, podIP: '127.0.0.1'}]});
    const serviceAccountDir = join(msg.dir, 'serviceaccount');
    mkdirSync(serviceAccountDir, {recursive: true});
    writeFileSync(join(serviceAccountDir, 'token'), msg.gatewayToken);
    writeFileSync(join(serviceAccountDir, 'ca.crt'), api.caPem ?? '');
    writeFileSync(join(serviceAccountDir, 'namespace'), msg.gatewayNamespace);
    const kubeconfigs = {};
    for (const [token, user] of Object.entries(msg.users)) kubeconfigs[user] = api.writeKubeconfig(msg.dir, {fileName: `${user}.yaml`, token, user});
    process.send({type: 'setup', port: api.port, serviceAccountDir, kubeconfigs});
  }
  if (msg.type === 'gateway-service') {
    api.addDubboApp({namespace: msg.namespace, name: msg.name, containerPort: msg.port, pods: [{name: `${msg.name}-0`, target: {host: '127.0.0.1', port: msg.port}}]});
    process.send({type: 'gateway-service'});
  }
  if (msg.type === 'served') process.send({type: 'served', served: api.portForwardsServed, open: api.portForwardCount()});
  if (msg.type === 'stop') {
    await api?.stop();
    process.send({type: 'stopped'});
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send({type: 'ready'});
