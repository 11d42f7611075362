// The fake Kubernetes API server of the cluster-path bench (bench/cluster.mjs), in a process of its
// own: it relays every port-forward byte, so in the load generator's process it would take that
// process's time and skew the latencies it measures. The tests' fake (test/support/fake-kube-api.ts,
// the demo's simulated API server plus counters), loaded through tsx. Pods forward to loopback.
// IPC: setup {apps: [{name, pods: [{name, port}]}], dir} -> {url, token, kubeconfig, containerPorts};
// served -> the port-forward upgrades served so far; delay {ms}; cpu; stop.
import process from 'node:process';
import {register} from 'tsx/esm/api';

register();
const {FakeKubeApi} = await import('../test/support/fake-kube-api.ts');
const api = await FakeKubeApi.start({bookmarkIntervalMs: 0});

process.on('message', async (msg) => {
  if (msg.type === 'setup') {
    const containerPorts = {};
    for (const app of msg.apps) {
      const info = api.addDubboApp({name: app.name, pods: app.pods.map((pod) => ({name: pod.name, target: {host: '127.0.0.1', port: pod.port}}))});
      containerPorts[app.name] = info.containerPort;
    }
    process.send({type: 'setup', url: api.url, token: api.token, kubeconfig: api.writeKubeconfig(msg.dir), containerPorts});
  }
  if (msg.type === 'served') process.send({type: 'served', served: api.portForwardsServed, open: api.portForwardCount()});
  if (msg.type === 'delay') {
    api.delayPortForwards(msg.ms);
    process.send({type: 'delay'});
  }
  if (msg.type === 'cpu') process.send({type: 'cpu', cpu: process.cpuUsage()});
  if (msg.type === 'stop') {
    await api.stop();
    process.send({type: 'stopped'});
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send({type: 'ready'});
