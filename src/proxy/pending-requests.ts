/**
 * Requests sent upstream and not answered yet, by request id. A Map would do, but with one request
 * in flight it goes from empty to one entry and back on every call, and V8 reallocates its table
 * each time it empties; the first entry therefore lives in a slot of its own, and only requests
 * beyond it go to the map. Ids are bigints (a consumer's) or numbers (an upstream's own counter,
 * which so needs no bigint per request).
 */
export class PendingRequests<T, K extends bigint | number = bigint> {
  #soleId: K | undefined;
  #sole: T | undefined;
  readonly #more = new Map<K, T>();

  get size(): number {
    return (this.#sole === undefined ? 0 : 1) + this.#more.size;
  }

  set(id: K, value: T): void {
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
  take(id: K): T | undefined {
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
  takeAll(): [K, T][] {
    const all: [K, T][] = [];
    if (this.#sole !== undefined && this.#soleId !== undefined) all.push([this.#soleId, this.#sole]);
    for (const entry of this.#more) all.push(entry);
    this.#sole = undefined;
    this.#more.clear();
    return all;
  }
}
