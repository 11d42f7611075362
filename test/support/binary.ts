// Helpers for tests that run the real binary (bin/dubbo-tunnel.js runs the bundle in dist/, the
// code users get from the published package).
import {execFileSync, spawn} from 'node:child_process';
import {existsSync, readdirSync, statSync} from 'node:fs';
import net from 'node:net';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin/dubbo-tunnel.js');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Rebuilds the bundle in dist/ when src/ or the build changed since the last build, so the binary runs the code under test. */
export function ensureBuilt(): void {
  const entry = join(ROOT, 'dist/cli.js');
  const inputs = ['src', 'scripts/build.mjs', 'package.json'].map((path) => newestMtime(join(ROOT, path)));
  if (existsSync(entry) && newestMtime(join(ROOT, 'dist')) >= Math.max(...inputs)) return;
  try {
    execFileSync('npm', ['run', 'build'], {cwd: ROOT, stdio: 'pipe', timeout: 180_000});
  } catch (error) {
    const output = error as {stdout?: Buffer; stderr?: Buffer};
    throw new Error(`npm run build failed, so the binary cannot run:\n${String(output.stdout ?? '')}${String(output.stderr ?? '')}`);
  }
}

export interface ProgramRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `argv` (the program, then its arguments) to its exit, with no stdin, and collects what it printed. */
export function runProgram(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const [command, ...args] = argv;
    if (command === undefined) {
      reject(new Error('runProgram needs a program to run'));
      return;
    }
    const child = spawn(command, args, {stdio: ['ignore', 'pipe', 'pipe'], env});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({code, stdout, stderr}));
  });
}

/** A port that was free a moment ago (the binary needs a fixed --port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const {port} = server.address() as net.AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((done) => {
    const socket = net.connect({port, host});
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** process.env without the DUBBO_TUNNEL_* settings of whoever runs the tests, plus `extra`. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('DUBBO_TUNNEL_') && key !== 'KUBECONFIG'));
  return {...env, ...extra};
}

/** The single executable `npm run build:binary` makes; tests that use it skip when it is not built. */
export const SEA_BINARY = join(ROOT, 'dist-bin', process.platform === 'win32' ? 'dubbo-tunnel.exe' : 'dubbo-tunnel');
