/**
 * Batches built once per event-loop turn and shared by every stream that has the same bytes
 * queued. A broadcast hands the same encoded chunk to every subscriber, so at the end of the
 * turn a thousand streams usually hold the very same chunks, in the same order: the first
 * stream to flush builds the batch (the chunks joined, or framed for HTTP/1.1), the next 999
 * find it here and write it as it is. Streams flush one after another in the order they
 * queued, so remembering the last batch of each kind is enough.
 *
 * Identity is the key: two chunks match when they are the same object, never by content, so
 * a hit costs a few pointer comparisons. A batch is only kept until the turn's microtasks run,
 * so nothing outlives the turn that built it. Shared bytes are never written to again.
 */

// Buffer.allocUnsafe takes small sizes from a shared pool and skips zero-filling: the bytes are
// overwritten at once. Elsewhere a plain Uint8Array does the same job.
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafe(size: number): Uint8Array } }).Buffer;
const allocate = NodeBuffer
  ? (size: number) => NodeBuffer.allocUnsafe(size)
  : (size: number) => new Uint8Array(size);

const CR = 0x0d;
const LF = 0x0a;
/** The ASCII of `0123456789abcdef`, for the chunk size line. */
const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');

let joinedParts: readonly Uint8Array[] | undefined;
let joined: Uint8Array | undefined;
let framedSource: Uint8Array | undefined;
let framed: Uint8Array | undefined;
let forgetScheduled = false;

function forget(): void {
  forgetScheduled = false;
  joinedParts = undefined;
  joined = undefined;
  framedSource = undefined;
  framed = undefined;
}

/** Forgets the kept batches once the current turn's synchronous work (the whole flush) is done. */
function forgetAfterThisTurn(): void {
  if (forgetScheduled) return;
  forgetScheduled = true;
  queueMicrotask(forget);
}

function sameParts(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The chunks as one, `totalBytes` long: the same object for every caller within a turn that
 * passes the same chunks in the same order.
 */
export function joinChunks(parts: readonly Uint8Array[], totalBytes: number): Uint8Array {
  if (joined !== undefined && sameParts(parts, joinedParts as readonly Uint8Array[])) {
    return joined;
  }
  const out = allocate(totalBytes);
  let offset = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Uint8Array;
    out.set(part, offset);
    offset += part.byteLength;
  }
  joinedParts = parts;
  joined = out;
  forgetAfterThisTurn();
  return out;
}

/**
 * `chunk` as one HTTP/1.1 chunk: its size in hex, CRLF, the bytes, CRLF (RFC 9112 §7.1:
 * `chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF`). The same object for every caller
 * within a turn that passes the same chunk. `chunk` must not be empty: a chunk of size zero is
 * the last-chunk, which ends the body.
 */
export function frameChunk(chunk: Uint8Array): Uint8Array {
  if (chunk === framedSource) return framed as Uint8Array;
  const size = chunk.byteLength;
  let digits = 1;
  while (size >= 16 ** digits) digits++;
  const out = allocate(digits + 2 + size + 2);
  let rest = size;
  for (let i = digits - 1; i >= 0; i--) {
    out[i] = HEX_DIGITS[rest & 15] as number;
    rest = Math.floor(rest / 16);
  }
  out[digits] = CR;
  out[digits + 1] = LF;
  out.set(chunk, digits + 2);
  out[digits + 2 + size] = CR;
  out[digits + 3 + size] = LF;
  framedSource = chunk;
  framed = out;
  forgetAfterThisTurn();
  return out;
}
