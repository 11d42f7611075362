/** How long identical lines are counted instead of shown, after the first one. */
export const FOLD_WINDOW_MS = 5000;

interface Window<T> {
  count: number;
  sample: T;
  timer: NodeJS.Timeout;
}

/**
 * Folds floods of identical lines (a port-forward failing for every request during an outage, the
 * same error answered to thousands of requests): the first one of a key is shown, the ones after
 * it within the window are only counted, and when the window ends one summary says how many there
 * were ("… ×1,240 in the last 5 s"); a flood that goes on gets one summary per window. A key seen
 * once is forgotten after its window, so a rare line is always shown.
 */
export class RepeatFolder<T> {
  readonly #windowMs: number;
  readonly #onSummary: (sample: T, count: number, windowMs: number) => void;
  readonly #windows = new Map<string, Window<T>>();

  constructor(onSummary: (sample: T, count: number, windowMs: number) => void, windowMs = FOLD_WINDOW_MS) {
    this.#onSummary = onSummary;
    this.#windowMs = windowMs;
  }

  /** True when this line is to be shown now; false when it was counted into a summary to come. */
  admit(key: string, sample: T): boolean {
    const open = this.#windows.get(key);
    if (open) {
      open.count++;
      open.sample = sample;
      return false;
    }
    this.#open(key, sample);
    return true;
  }

  #open(key: string, sample: T): void {
    const window: Window<T> = {count: 0, sample, timer: setTimeout(() => this.#close(key), this.#windowMs)};
    window.timer.unref();
    this.#windows.set(key, window);
  }

  #close(key: string): void {
    const window = this.#windows.get(key);
    this.#windows.delete(key);
    if (!window || window.count === 0) return;
    this.#onSummary(window.sample, window.count, this.#windowMs);
    // Still flooding: keep folding, one summary per window, until a window passes without a repeat.
    this.#open(key, window.sample);
  }

  /** Says what is still counted (e.g. before the process exits) and forgets everything. */
  flush(): void {
    for (const key of [...this.#windows.keys()]) {
      const window = this.#windows.get(key);
      if (window) clearTimeout(window.timer);
      this.#windows.delete(key);
      if (window && window.count > 0) this.#onSummary(window.sample, window.count, this.#windowMs);
    }
  }
}

/** The tail of a summary line: ` … ×1,240 in the last 5 s`. */
export function foldedSuffix(count: number, windowMs: number): string {
  const span = windowMs < 1000 ? `${windowMs} ms` : `${Math.round(windowMs / 1000)} s`;
  return ` … ×${count.toLocaleString('en-US')} in the last ${span}`;
}
