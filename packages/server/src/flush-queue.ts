export interface FlushMember {
  /** Called once at the end of the turn in which the member asked for it. */
  onFlushTurn(): void;
}

// Taken when the module loads, so a test's fake timers (which replace the globals later)
// cannot stop events from reaching the socket. Where there is no setImmediate (browsers,
// workers), the end of the current task is the next best batching point.
const realSetImmediate = globalThis.setImmediate;
const defer: (run: () => void) => void =
  typeof realSetImmediate === 'function' ? (run) => void realSetImmediate(run) : queueMicrotask;

/**
 * Write coalescing for all streams at once: a stream that queues bytes joins the queue once,
 * and one callback per event-loop turn (not one per stream, not one per event) flushes every
 * stream that joined, each with a single write. Ten events published to a thousand
 * subscribers in one turn become a thousand writes, not ten thousand.
 */
class FlushQueue {
  #members: FlushMember[] = [];
  #spare: FlushMember[] = [];
  #scheduled = false;

  /** Adds a member to this turn's flush. The member keeps track of having joined. */
  add(member: FlushMember): void {
    this.#members.push(member);
    if (!this.#scheduled) {
      this.#scheduled = true;
      defer(this.#run);
    }
  }

  /** Members waiting for this turn's flush. */
  get size(): number {
    return this.#members.length;
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    // Swap before iterating: a flush may queue a member again (for the next turn).
    const members = this.#members;
    this.#members = this.#spare;
    for (let i = 0; i < members.length; i++) (members[i] as FlushMember).onFlushTurn();
    members.length = 0;
    this.#spare = members;
  };
}

/** The process-wide flush queue every EventStream uses. */
export const flushQueue = new FlushQueue();
