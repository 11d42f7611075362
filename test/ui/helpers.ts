// Helpers for ink-testing-library tests: readable frames, key codes, and waits instead of sleeps.
import {waitFor} from '../support/wait.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[ -/]*[@-~]/g;

export function strip(frame: string | undefined): string {
  return (frame ?? '').replace(ANSI, '');
}

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  enter: '\r',
  escape: '\u001B',
  space: ' ',
  backspace: '\u007F',
  ctrlA: '\u0001',
  ctrlC: '\u0003',
  ctrlU: '\u0015',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  home: '\u001B[H',
  end: '\u001B[F',
} as const;

interface Rendered {
  lastFrame: () => string | undefined;
  stdin: {write: (data: string) => void};
}

/** Waits until the (ANSI-stripped) last frame satisfies `predicate`; the error shows the frame. */
export async function waitForFrame(view: Rendered, predicate: (frame: string) => boolean, message = 'frame'): Promise<string> {
  try {
    await waitFor(() => predicate(strip(view.lastFrame())), {timeoutMs: 3000, message});
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- last frame ---\n${strip(view.lastFrame())}`);
  }
  return strip(view.lastFrame());
}

export function waitForText(view: Rendered, text: string): Promise<string> {
  return waitForFrame(view, (frame) => frame.includes(text), `text "${text}"`);
}

/** One macrotask: lets ink parse the input and React commit before the next key. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Types keys one at a time, letting each one be handled before the next (like a person would). */
export async function press(view: Rendered, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    view.stdin.write(key);
    await tick();
    await tick();
  }
}

/** Sets the fake stdout's width (ink-testing-library's is fixed at 100) and tells ink and our hooks. */
export function resize(stdout: NodeJS.EventEmitter, columns: number, rows = 24): void {
  Object.defineProperty(stdout, 'columns', {value: columns, configurable: true});
  Object.defineProperty(stdout, 'rows', {value: rows, configurable: true});
  stdout.emit('resize');
}

/** Every line of the frame fits in `columns` (no line was wrapped or overflowed). */
export function widest(frame: string): number {
  return Math.max(...frame.split('\n').map((line) => [...line].length));
}
