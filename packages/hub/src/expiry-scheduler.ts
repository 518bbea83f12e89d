interface Entry {
  at: number;
  run: (() => void) | undefined;
}

/**
 * Runs a callback at a wall-clock time — closing a stream when its token's `exp` passes
 * ("If the presented JWS contains an expiration time in the standard `exp` claim [...] the
 * connection MUST be closed by the hub at that time") — with ONE timer for all
 * connections: a min-heap ordered by time, the timer set for its head. Connections stay
 * small (no timer object each), and cancelled entries are dropped so a closed stream with a
 * token valid for a year is not kept alive until then.
 */
export class ExpiryScheduler {
  #heap: Entry[] = [];
  #cancelled = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** @returns a cancel function. */
  schedule(at: number, run: () => void): () => void {
    const entry: Entry = { at, run };
    this.#push(entry);
    this.#arm();
    return () => {
      if (entry.run === undefined) return;
      entry.run = undefined;
      this.#cancelled++;
      // Compact when most of the heap is dead weight.
      if (this.#cancelled > 64 && this.#cancelled * 2 > this.#heap.length) this.#compact();
    };
  }

  get size(): number {
    return this.#heap.length - this.#cancelled;
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#heap = [];
    this.#cancelled = 0;
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const entry = this.#pop()!;
      const run = entry.run;
      if (run === undefined) {
        this.#cancelled--;
        continue;
      }
      entry.run = undefined;
      run();
    }
    this.#arm();
  };

  #arm(): void {
    const head = this.#heap[0];
    if (!head || head.at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    // setTimeout takes at most 2^31-1 ms; a later time re-arms when that fires.
    const delay = Math.min(Math.max(0, head.at - Date.now()), 0x7fffffff);
    this.#timerAt = head.at;
    this.#timer = setTimeout(this.#fire, delay);
    this.#timer.unref();
  }

  #compact(): void {
    const live = this.#heap.filter((entry) => entry.run !== undefined);
    this.#heap = [];
    this.#cancelled = 0;
    for (const entry of live) this.#push(entry);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): Entry | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= last.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
