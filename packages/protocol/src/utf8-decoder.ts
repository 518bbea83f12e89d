/**
 * Decodes a UTF-8 byte stream chunk by chunk, exactly as `new TextDecoder('utf-8',
 * { ignoreBOM: true })` does with `{ stream: true }`: a character split across chunks decodes
 * whole, invalid bytes become U+FFFD (one per maximal subpart, as the Encoding Standard says)
 * and no BOM is removed (the parser strips the one leading BOM itself, for strings and bytes
 * alike).
 *
 * Why not TextDecoder's streaming mode alone: in Node 20 it runs through ICU and decodes ASCII
 * at about a tenth of the speed of a one-shot `decode()`, and small chunks pay twice its
 * per-call cost. So each chunk is cut after its last complete character and that prefix is
 * decoded in one shot; the one to three bytes of a character that the chunk cut in two are
 * carried over to the next chunk. For large chunks of non-ASCII text the streaming mode is the
 * faster one in every runtime measured, so those go through it; since every prefix ends on a
 * character boundary, the streaming decoder never holds bytes back and both modes give the same
 * text.
 */
export interface Utf8StreamDecoder {
  /** The text of `bytes`, without the bytes of a trailing character that is not complete yet. */
  decode(bytes: Uint8Array): string;
  /** Ends the stream: a character left incomplete decodes to U+FFFD. */
  flush(): string;
}

/** Chunks at least this long go through TextDecoder's streaming mode once text is non-ASCII. */
const STREAMING_MODE_MIN_BYTES = 2048;

/** How many bytes a sequence has, by its lead byte; 0 for bytes that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Whether `byte` may follow `lead` as the second byte. The Encoding Standard narrows the range
 * after E0, ED, F0 and F4 to rule out overlong forms, surrogates and code points past U+10FFFF.
 */
function validSecondByte(lead: number, byte: number): boolean {
  switch (lead) {
    case 0xe0:
      return byte >= 0xa0 && byte <= 0xbf;
    case 0xed:
      return byte >= 0x80 && byte <= 0x9f;
    case 0xf0:
      return byte >= 0x90 && byte <= 0xbf;
    case 0xf4:
      return byte >= 0x80 && byte <= 0x8f;
    default:
      return byte >= 0x80 && byte <= 0xbf;
  }
}

/**
 * Where the character that `bytes` ends in the middle of starts, or `bytes.length` when the
 * chunk ends on a character boundary. Only a valid beginning of a sequence counts: an invalid
 * one decodes to U+FFFD right away, as the streaming decoder would do.
 */
function incompleteTailStart(bytes: Uint8Array, from: number): number {
  const end = bytes.length;
  for (let i = end - 1; i >= from && i >= end - 3; i--) {
    const byte = bytes[i]!;
    if (byte < 0x80) return end; // ASCII ends whatever came before it
    if (byte < 0xc0) continue; // a continuation byte: its lead byte is further back
    const length = sequenceLength(byte);
    if (length === 0 || end - i >= length) return end; // invalid lead, or a complete character
    if (end - i >= 2 && !validSecondByte(byte, bytes[i + 1]!)) return end;
    return i;
  }
  return end;
}

export function createUtf8StreamDecoder(): Utf8StreamDecoder {
  const oneShot = new TextDecoder('utf-8', { ignoreBOM: true });
  const streaming = new TextDecoder('utf-8', { ignoreBOM: true });
  const streamOption = { stream: true };
  // The start of a character cut off at the end of the previous chunk.
  const carry = new Uint8Array(4);
  let carried = 0;
  let carryLength = 0;
  // Whether the last chunk decoded had non-ASCII text: the best guess for the next one.
  let nonAscii = false;

  function decodeComplete(bytes: Uint8Array): string {
    if (nonAscii && bytes.length >= STREAMING_MODE_MIN_BYTES) {
      const text = streaming.decode(bytes, streamOption);
      nonAscii = text.length !== bytes.length;
      return text;
    }
    const text = oneShot.decode(bytes);
    nonAscii = text.length !== bytes.length;
    return text;
  }

  return {
    decode(bytes) {
      let start = 0;
      let head = '';
      if (carried > 0) {
        // Complete the carried character with continuation bytes from this chunk.
        while (carried < carryLength && start < bytes.length) {
          const byte = bytes[start]!;
          const valid =
            carried === 1 ? validSecondByte(carry[0]!, byte) : byte >= 0x80 && byte <= 0xbf;
          if (!valid) break;
          carry[carried++] = byte;
          start++;
        }
        if (carried < carryLength && start === bytes.length) return ''; // still incomplete
        // A whole character, or a sequence cut short by an invalid byte: one U+FFFD.
        head = oneShot.decode(carry.subarray(0, carried));
        carried = 0;
      }
      const tail = incompleteTailStart(bytes, start);
      let body = '';
      if (tail > start) {
        body = decodeComplete(
          start === 0 && tail === bytes.length ? bytes : bytes.subarray(start, tail),
        );
      }
      if (tail < bytes.length) {
        carryLength = sequenceLength(bytes[tail]!);
        carry.set(bytes.subarray(tail));
        carried = bytes.length - tail;
      }
      return head === '' ? body : head + body;
    },
    flush() {
      if (carried === 0) return '';
      const text = oneShot.decode(carry.subarray(0, carried));
      carried = 0;
      return text;
    },
  };
}
