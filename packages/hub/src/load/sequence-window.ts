/**
 * What one subscriber received of a numbered run of updates (1, 2, 3, ...): how many never
 * arrived, arrived twice, or arrived after a later one. Whether each of the last
 * {@link SEQUENCE_WINDOW} numbers arrived is one bit (512 bytes per subscriber, so a load
 * process holding thousands of subscribers stays small), and the cost per delivery is a bit
 * read and write whatever the run's length.
 *
 * A late update is blamed on the hub only when the hub had to order it first. The publisher
 * sends over several connections at once, so update 5 can reach the hub (and be delivered)
 * before update 4, which was still on its way: a hub may order updates it has not yet
 * acknowledged either way. Each update therefore carries its publisher's answered-through
 * mark: the highest number up to which every publish had been answered when it was sent.
 * Update 4 arriving after an update whose mark is 4 or more is out of order (the hub had
 * acknowledged 4 before it even received the later one); arriving after later updates whose
 * marks are all below 4, it was only overtaken.
 *
 * An update older than the window (it arrived more than `SEQUENCE_WINDOW` numbers late)
 * cannot be told from a duplicate; it is counted as late (out of order or overtaken, by the
 * same rule) and no longer as dropped.
 */
export const SEQUENCE_WINDOW = 4096;

export interface SequenceCounts {
  /** Distinct numbers received. */
  received: number;
  /** Numbers up to the last one published that never arrived. */
  dropped: number;
  /** Deliveries of a number already received. */
  duplicated: number;
  /**
   * Deliveries of a number lower than one received before, although the hub had answered
   * its publish before that later one was sent: the hub reordered them.
   */
  outOfOrder: number;
  /**
   * Deliveries of a number lower than one received before, the two publishes in flight at
   * once: they reached the hub in the other order, which is the publisher's doing.
   */
  overtaken: number;
}

export class SequenceWindow {
  /** Bit `n % SEQUENCE_WINDOW`: whether `n` arrived, for `n` in (highest − window, highest]. */
  private readonly seen = new Uint32Array(SEQUENCE_WINDOW / 32);
  /** Highest number received; `first - 1` before any. */
  private highest: number;
  private received = 0;
  private missing = 0;
  private duplicated = 0;
  private outOfOrder = 0;
  private overtaken = 0;
  /** Highest answered-through mark of the updates received so far. */
  private answered = 0;

  /** `first`: the number the subscriber is due to receive first. */
  constructor(private readonly first = 1) {
    this.highest = first - 1;
  }

  /**
   * One delivery of update `n`. `answeredThrough`: its publisher's answered-through mark when
   * it was sent; without one, every earlier update counts as answered (any late arrival is
   * then out of order).
   */
  record(n: number, answeredThrough = n - 1): void {
    if (!Number.isInteger(n) || n < this.first) return;
    if (n > this.highest) {
      // Everything between the previous highest and this one is missing until it turns up;
      // their bits still say what the numbers a window before them did.
      this.missing += n - this.highest - 1;
      if (n - this.highest > SEQUENCE_WINDOW) this.seen.fill(0);
      else for (let k = this.highest + 1; k < n; k++) this.clear(k);
      this.highest = n;
      this.mark(n);
      this.received++;
    } else if (n <= this.highest - SEQUENCE_WINDOW) {
      this.late(n);
      this.missing = Math.max(0, this.missing - 1);
      this.received++;
    } else if (this.has(n)) {
      this.duplicated++;
    } else {
      // A gap filled late.
      this.mark(n);
      this.late(n);
      this.missing--;
      this.received++;
    }
    // After the checks: a delivery's own mark says nothing about its own order.
    if (answeredThrough > this.answered) this.answered = answeredThrough;
  }

  private has(n: number): boolean {
    const slot = n % SEQUENCE_WINDOW;
    return (this.seen[slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }

  private mark(n: number): void {
    const slot = n % SEQUENCE_WINDOW;
    this.seen[slot >>> 5]! |= 1 << (slot & 31);
  }

  private clear(n: number): void {
    const slot = n % SEQUENCE_WINDOW;
    this.seen[slot >>> 5]! &= ~(1 << (slot & 31));
  }

  private late(n: number): void {
    if (n <= this.answered) this.outOfOrder++;
    else this.overtaken++;
  }

  /** The counts once `last` is the last number published (0: none was). */
  counts(last: number): SequenceCounts {
    const tail = Math.max(0, last - this.highest);
    return {
      received: this.received,
      dropped: this.missing + tail,
      duplicated: this.duplicated,
      outOfOrder: this.outOfOrder,
      overtaken: this.overtaken,
    };
  }
}

/** Sums the counts of many subscribers. */
export function addSequenceCounts(a: SequenceCounts, b: SequenceCounts): SequenceCounts {
  return {
    received: a.received + b.received,
    dropped: a.dropped + b.dropped,
    duplicated: a.duplicated + b.duplicated,
    outOfOrder: a.outOfOrder + b.outOfOrder,
    overtaken: a.overtaken + b.overtaken,
  };
}

export const NO_SEQUENCE: SequenceCounts = {
  received: 0,
  dropped: 0,
  duplicated: 0,
  outOfOrder: 0,
  overtaken: 0,
};

const N_KEY = '"n":';
const ANSWERED_KEY = '"a":';

/**
 * The number of a marked update (`{"marker":"<marker>","n":12,...}`), or -1 when the data is
 * not one of this run's. Scans instead of JSON.parse: it runs for every delivery.
 */
export function readSequenceNumber(data: string, markerField: string): number {
  if (!data.includes(markerField)) return -1;
  return readWholeNumber(data, N_KEY);
}

/**
 * The publisher's answered-through mark in an update (`"a":11`), or -1 when it carries none.
 * Read only from data {@link readSequenceNumber} accepted.
 */
export function readAnsweredThrough(data: string): number {
  return readWholeNumber(data, ANSWERED_KEY);
}

function readWholeNumber(data: string, key: string): number {
  const at = data.indexOf(key);
  if (at === -1) return -1;
  let value = 0;
  let digits = 0;
  for (let i = at + key.length; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
    digits++;
  }
  return digits === 0 ? -1 : value;
}

/** The text every update of the run `marker` carries: `"marker":"<marker>"`. */
export function markerField(marker: string): string {
  return `"marker":${JSON.stringify(marker)}`;
}
