// `dubbo-tunnel gateway` as its own process, as a Deployment runs it: the built binary in the
// in-cluster environment of a fake API server (FakeKubeApi.inClusterEnv), on free loopback ports.
import {spawn, type ChildProcess} from 'node:child_process';
import {BIN, freePort} from './binary.js';
import {waitFor} from './wait.js';

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** The Dubbo port laptops (and port-forwards to its pod) reach. */
  readonly port: number;
  /** `/healthz`, `/readyz`, `/metrics`. */
  readonly adminPort: number;
  /** What it printed so far, stdout and stderr together. */
  output(): string;
}

/** Starts the gateway with `args` (after its ports) and resolves once `/readyz` answers 200. */
export async function startGatewayProcess(args: readonly string[], inCluster: Record<string, string>, name = 'the gateway'): Promise<GatewayProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawn(process.execPath, [BIN, 'gateway', '--port', String(port), '--admin-port', String(adminPort), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, CI: 'true', DUBBO_TUNNEL_CONFIG_DIR: '/nonexistent-dubbo-tunnel-test', ...inCluster},
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const ready = async (): Promise<boolean> => (await fetch(`http://127.0.0.1:${adminPort}/readyz`).then((response) => response.status).catch(() => 0)) === 200;
  await waitFor(ready, {timeoutMs: 20_000}).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${name} never got ready (${error instanceof Error ? error.message : String(error)}); it printed:\n${output}`);
  });
  return {child, port, adminPort, output: () => output};
}
