// Helpers for tests that run the real binary (bin/dubbo-tunnel.js runs the bundle in dist/, the
// code users get from the published package).
import {execFileSync, spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {bundleIsFresh} from '../../scripts/build.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin/dubbo-tunnel.js');

/**
 * Makes sure dist/ holds a bundle of the current src/, so the binary runs the code under test.
 * scripts/run-tests.mjs builds it once, before any test file starts, and says so in
 * TEST_BUNDLE_BUILT: then nothing is rebuilt under files that run the binary at the same time.
 * A file run without it builds here when dist/ is stale, one process at a time.
 */
export function ensureBuilt(): void {
  if (process.env['TEST_BUNDLE_BUILT'] === '1' || bundleIsFresh()) return;
  withBuildLock(() => {
    // Another process may have built it while this one waited for the lock.
    if (bundleIsFresh()) return;
    try {
      execFileSync('npm', ['run', 'build'], {cwd: ROOT, stdio: 'pipe', timeout: 180_000});
    } catch (error) {
      const output = error as {stdout?: Buffer; stderr?: Buffer};
      throw new Error(`npm run build failed, so the binary cannot run:\n${String(output.stdout ?? '')}${String(output.stderr ?? '')}`);
    }
  });
}

/** A directory only one process at a time can create: held while dist/ is rebuilt. */
const BUILD_LOCK = join(tmpdir(), `dubbo-tunnel-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 16)}.lock`);

function withBuildLock(build: () => void): void {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      writeFileSync(join(BUILD_LOCK, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!lockHolderAlive()) {
      rmSync(BUILD_LOCK, {recursive: true, force: true});
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another process has been building dist/ for 3 minutes (it holds ${BUILD_LOCK})`);
    // A synchronous wait: ensureBuilt() is synchronous.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  try {
    build();
  } finally {
    rmSync(BUILD_LOCK, {recursive: true, force: true});
  }
}

/** False when the process holding the lock is gone (it died mid-build); true while it runs or is just starting. */
function lockHolderAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(BUILD_LOCK, 'pid'), 'utf8'));
  } catch {
    // The holder has made the directory but not written its pid yet.
    return true;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
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
