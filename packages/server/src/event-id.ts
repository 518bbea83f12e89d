// Base-36 digits of a fixed width: lowercase letters sort after digits in ASCII, so for equal
// widths string order is numeric order. 9 digits of milliseconds last until the year 5188;
// 4 digits of counter allow 1.68 million ids per millisecond.
const TIME_WIDTH = 9;
const COUNTER_WIDTH = 4;
const COUNTER_LIMIT = 36 ** COUNTER_WIDTH;

let lastTime = 0;
let counter = 0;
/** `lastTime` in base 36 and the separator: recomputed once per millisecond, not per id. */
let prefix = '';

/**
 * A new event id: `<time>-<counter>` in fixed-width base 36, e.g. `00mfl3k2a-0000`.
 *
 * Ids are unique within the process and strictly increasing, both as strings and in time
 * order, so `a < b` means `a` was created first. The clock going backwards does not break
 * this: the time part never decreases (it keeps the last value until the clock catches up).
 * Starting after the previous run's last millisecond, a restarted process continues the order.
 */
export function createEventId(): string {
  const now = Date.now();
  if (now > lastTime) {
    setTime(now);
  } else if (++counter === COUNTER_LIMIT) {
    // More ids in one millisecond than the counter holds: borrow the next millisecond.
    setTime(lastTime + 1);
  }
  // COUNTER_LIMIT + counter has exactly one digit more than the width: drop it, and the
  // zero padding comes for free.
  return prefix + (COUNTER_LIMIT + counter).toString(36).slice(1);
}

function setTime(time: number): void {
  lastTime = time;
  counter = 0;
  prefix = time.toString(36).padStart(TIME_WIDTH, '0') + '-';
}
