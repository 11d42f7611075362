/**
 * The simulated cluster behind `dubbo-tunnel demo`: the fake Kubernetes API server (real wire
 * protocol, WebSocket port-forward included) on 127.0.0.1, real TCP Dubbo providers standing in for
 * the pods, and a kubeconfig in a temporary directory. `up` then runs against it unchanged.
 *
 * The three applications are marked the three ways discovery knows, so the demo shows all of them:
 * user-rpc by an Ingress of class dubbo (two pods), order-rpc by a Service port named dubbo, and
 * pay-rpc by the dubbo-tunnel.io/application annotation on a Service named otherwise.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {DemoProvider} from './demo-provider.js';
import type {DemoService} from './demo-provider.js';
import {ORDER_SERVICE, PAY_SERVICE, USER_SERVICE} from './demo-services.js';
import {SimulatedKubeApi} from './kube-api.js';
import type {DubboAppSpec} from './kube-api.js';

export const DEMO_CONTEXT = 'dubbo-tunnel-demo';
export const DEMO_NAMESPACE = 'demo';

export interface DemoApplication {
  application: string;
  /** The Kubernetes Service behind it. */
  service: string;
  /** How discovery finds it, for the banner. */
  markedBy: string;
  pods: string[];
  services: readonly DemoService[];
}

interface Blueprint {
  spec: Omit<DubboAppSpec, 'pods' | 'namespace'>;
  markedBy: string;
  pods: string[];
  services: readonly DemoService[];
}

const BLUEPRINTS: readonly Blueprint[] = [
  {
    spec: {name: 'user-rpc', ingress: true},
    markedBy: 'Ingress of class dubbo',
    pods: ['user-rpc-6d5f8c7b9-x2k4p', 'user-rpc-6d5f8c7b9-q7m3z'],
    services: [USER_SERVICE],
  },
  {
    spec: {name: 'order-rpc'},
    markedBy: 'Service port named dubbo',
    pods: ['order-rpc-7c9d4b5f6-h8j2n'],
    services: [ORDER_SERVICE],
  },
  {
    spec: {name: 'payment', application: 'pay-rpc', servicePort: 20881},
    markedBy: 'annotation dubbo-tunnel.io/application on Service payment',
    pods: ['payment-58b6c9d7f-w4t9r'],
    services: [PAY_SERVICE],
  },
];

export class DemoCluster {
  readonly api: SimulatedKubeApi;
  readonly kubeconfigPath: string;
  readonly applications: readonly DemoApplication[];
  readonly providers: readonly DemoProvider[];
  readonly #dir: string;
  #stopping: Promise<void> | undefined;

  private constructor(api: SimulatedKubeApi, dir: string, kubeconfigPath: string, applications: DemoApplication[], providers: DemoProvider[]) {
    this.api = api;
    this.#dir = dir;
    this.kubeconfigPath = kubeconfigPath;
    this.applications = applications;
    this.providers = providers;
  }

  /** Starts everything on 127.0.0.1 (free ports) and writes the kubeconfig. Cleans up if any step fails. */
  static async start(): Promise<DemoCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'dubbo-tunnel-demo-'));
    const providers: DemoProvider[] = [];
    let api: SimulatedKubeApi | undefined;
    try {
      api = await SimulatedKubeApi.start({namespaces: ['default', 'kube-system', DEMO_NAMESPACE]});
      const applications: DemoApplication[] = [];
      for (const blueprint of BLUEPRINTS) {
        const application = blueprint.spec.application ?? blueprint.spec.name;
        const started = await Promise.all(blueprint.pods.map((pod) => DemoProvider.start({application, pod, services: blueprint.services})));
        providers.push(...started);
        api.addDubboApp({
          ...blueprint.spec,
          namespace: DEMO_NAMESPACE,
          pods: started.map((provider) => ({name: provider.pod, target: {host: provider.host, port: provider.port}})),
        });
        applications.push({application, service: blueprint.spec.name, markedBy: blueprint.markedBy, pods: blueprint.pods, services: blueprint.services});
      }
      const kubeconfigPath = api.writeKubeconfig(dir, {context: DEMO_CONTEXT, namespace: DEMO_NAMESPACE});
      return new DemoCluster(api, dir, kubeconfigPath, applications, providers);
    } catch (error) {
      await Promise.all([api?.stop(), ...providers.map((provider) => provider.close())]);
      rmSync(dir, {recursive: true, force: true});
      throw error;
    }
  }

  /** Stops the API server and the providers and removes the temporary directory. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await Promise.all([this.api.stop(), ...this.providers.map((provider) => provider.close())]);
      rmSync(this.#dir, {recursive: true, force: true});
    })();
    return this.#stopping;
  }
}
