/**
 * Requests sent upstream and not answered yet, by request id. A Map would do, but with one request
 * in flight it goes from empty to one entry and back on every call, and V8 reallocates its table
 * each time it empties; the first entry therefore lives in a slot of its own, and only requests
 * beyond it go to the map.
 */
export class PendingRequests<T> {
  #soleId = 0n;
  #sole: T | undefined;
  readonly #more = new Map<bigint, T>();

  get size(): number {
    return (this.#sole === undefined ? 0 : 1) + this.#more.size;
  }

  set(id: bigint, value: T): void {
    if (this.#sole !== undefined && this.#soleId === id) {
      this.#sole = value;
    } else if (this.#sole === undefined && (this.#more.size === 0 || !this.#more.has(id))) {
      this.#soleId = id;
      this.#sole = value;
    } else {
      this.#more.set(id, value);
    }
  }

  /** Removes and returns the request with this id, if there is one. */
  take(id: bigint): T | undefined {
    if (this.#sole !== undefined && this.#soleId === id) {
      const value = this.#sole;
      this.#sole = undefined;
      return value;
    }
    if (this.#more.size === 0) return undefined;
    const value = this.#more.get(id);
    if (value !== undefined) this.#more.delete(id);
    return value;
  }

  /** Removes and returns every request. */
  takeAll(): [bigint, T][] {
    const all: [bigint, T][] = [];
    if (this.#sole !== undefined) all.push([this.#soleId, this.#sole]);
    for (const entry of this.#more) all.push(entry);
    this.#sole = undefined;
    this.#more.clear();
    return all;
  }
}
