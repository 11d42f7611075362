/** A fixed-size ring of latencies; `percentiles()` sorts a copy, so recording stays O(1). */
export class LatencyWindow {
  readonly #values: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size: number) {
    this.#values = new Float64Array(size);
  }

  record(ms: number): void {
    this.#values[this.#next] = ms;
    this.#next = this.#next + 1 === this.#values.length ? 0 : this.#next + 1;
    if (this.#count < this.#values.length) this.#count++;
  }

  /** Nearest-rank percentiles; undefined when empty. */
  percentiles(): {p50: number; p99: number} | undefined {
    if (this.#count === 0) return undefined;
    const sorted = this.#values.slice(0, this.#count).sort();
    return {p50: nearestRank(sorted, 0.5), p99: nearestRank(sorted, 0.99)};
  }
}

function nearestRank(sorted: Float64Array, p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[index] ?? 0;
}
