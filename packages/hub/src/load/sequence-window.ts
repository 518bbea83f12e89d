/**
 * What one subscriber received of a numbered run of updates (1, 2, 3, ...): how many never
 * arrived, arrived twice, or arrived after a later one. Each update's number is remembered in
 * a ring of the last {@link SEQUENCE_WINDOW} numbers, so the cost per delivery is one array
 * read and write whatever the run's length.
 *
 * An update older than the window (it arrived more than `SEQUENCE_WINDOW` numbers late)
 * cannot be told from a duplicate; it is counted as out of order and no longer as dropped.
 */
export const SEQUENCE_WINDOW = 4096;

export interface SequenceCounts {
  /** Distinct numbers received. */
  received: number;
  /** Numbers up to the last one published that never arrived. */
  dropped: number;
  /** Deliveries of a number already received. */
  duplicated: number;
  /** Deliveries of a number lower than one received before. */
  outOfOrder: number;
}

export class SequenceWindow {
  private readonly seen = new Float64Array(SEQUENCE_WINDOW);
  /** Highest number received; `first - 1` before any. */
  private highest: number;
  private received = 0;
  private missing = 0;
  private duplicated = 0;
  private outOfOrder = 0;

  /** `first`: the number the subscriber is due to receive first. */
  constructor(private readonly first = 1) {
    this.highest = first - 1;
    // No slot may look like a number already seen.
    this.seen.fill(-1);
  }

  record(n: number): void {
    if (!Number.isInteger(n) || n < this.first) return;
    const slot = n % SEQUENCE_WINDOW;
    if (n > this.highest) {
      // Everything between the previous highest and this one is missing until it turns up.
      this.missing += n - this.highest - 1;
      this.highest = n;
      this.seen[slot] = n;
      this.received++;
      return;
    }
    if (n <= this.highest - SEQUENCE_WINDOW) {
      this.outOfOrder++;
      this.missing = Math.max(0, this.missing - 1);
      this.received++;
      return;
    }
    if (this.seen[slot] === n) {
      this.duplicated++;
      return;
    }
    // A gap filled late.
    this.seen[slot] = n;
    this.outOfOrder++;
    this.missing--;
    this.received++;
  }

  /** The counts once `last` is the last number published (0: none was). */
  counts(last: number): SequenceCounts {
    const tail = Math.max(0, last - this.highest);
    return {
      received: this.received,
      dropped: this.missing + tail,
      duplicated: this.duplicated,
      outOfOrder: this.outOfOrder,
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
  };
}

export const NO_SEQUENCE: SequenceCounts = {
  received: 0,
  dropped: 0,
  duplicated: 0,
  outOfOrder: 0,
};

const N_KEY = '"n":';

/**
 * The number of a marked update (`{"marker":"<marker>","n":12,...}`), or -1 when the data is
 * not one of this run's. Scans instead of JSON.parse: it runs for every delivery.
 */
export function readSequenceNumber(data: string, markerField: string): number {
  if (!data.includes(markerField)) return -1;
  const at = data.indexOf(N_KEY);
  if (at === -1) return -1;
  let value = 0;
  let digits = 0;
  for (let i = at + N_KEY.length; i < data.length; i++) {
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
