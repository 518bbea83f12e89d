import { randomFillSync } from 'node:crypto';

/**
 * Event ids the hub generates when a publisher sends none: `urn:uuid:` + a UUID version 7
 * (RFC 9562).
 *
 * Why this form: draft-07 says "If omitted, the hub MUST generate a valid IRI [...] An UUID
 * MAY be used", and Mercure answers `urn:uuid:<uuid>`, which existing clients and tests
 * expect. Version 7 puts a millisecond timestamp first and, per RFC 9562 §6.2 method 1, a
 * counter in `rand_a`, so ids from one process are strictly increasing and sort as strings
 * in publish order (handy in logs and for humans comparing `Last-Event-ID`s). The 62
 * random bits make ids unique across hub nodes sharing one broker without coordination.
 */
export function createUpdateId(): string {
  return 'urn:uuid:' + uuidV7();
}

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

// Random bytes drawn in batches: one syscall per 512 ids, not one per id.
const RANDOM_POOL = new Uint8Array(8 * 512);
let poolOffset = RANDOM_POOL.length;

let lastMs = 0;
let counter = 0;
const COUNTER_MAX = 0xfff;

export function uuidV7(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    // A random start below half the range leaves room to count up within the millisecond.
    counter = (Math.random() * 0x7ff) | 0;
  } else {
    // Same millisecond, or the clock stepped back: keep counting from the last id so the
    // order holds. When the 12-bit counter runs out, borrow the next millisecond.
    ms = lastMs;
    if (counter >= COUNTER_MAX) {
      lastMs = ms = lastMs + 1;
      counter = 0;
    } else {
      counter++;
    }
  }

  if (poolOffset + 8 > RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 8;

  const high = Math.floor(ms / 0x1000000); // upper 24 of 48 timestamp bits
  const low = ms % 0x1000000; // lower 24 bits
  return (
    HEX[(high >>> 16) & 0xff]! +
    HEX[(high >>> 8) & 0xff]! +
    HEX[high & 0xff]! +
    HEX[(low >>> 16) & 0xff]! +
    '-' +
    HEX[(low >>> 8) & 0xff]! +
    HEX[low & 0xff]! +
    '-' +
    // version 7 in the high nibble, then the 12-bit counter
    HEX[0x70 | (counter >>> 8)]! +
    HEX[counter & 0xff]! +
    '-' +
    // variant 0b10 in the two high bits
    HEX[0x80 | (RANDOM_POOL[r]! & 0x3f)]! +
    HEX[RANDOM_POOL[r + 1]!]! +
    '-' +
    HEX[RANDOM_POOL[r + 2]!]! +
    HEX[RANDOM_POOL[r + 3]!]! +
    HEX[RANDOM_POOL[r + 4]!]! +
    HEX[RANDOM_POOL[r + 5]!]! +
    HEX[RANDOM_POOL[r + 6]!]! +
    HEX[RANDOM_POOL[r + 7]!]!
  );
}
