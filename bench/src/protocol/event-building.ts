/**
 * The other bound under the CRLF rows: only building what a parser must hand out (the value
 * slices, the joined multi-line data, the event objects and the callbacks), with every line's
 * kind and position worked out before the clock starts. Line finding and field matching cost
 * nothing here, and neither does the event type (a parser could keep the string of a name that
 * repeats), so no parser that hands out JavaScript strings can beat this on the same chunks:
 * its ratio to eventsource-parser is the most any such parser can reach.
 */
import { type Tally, tallying } from './contenders.js';

enum Kind {
  Blank = 0,
  Comment = 1,
  Data = 2,
  Event = 3,
  Id = 4,
  Retry = 5,
}

/** Per chunk: for each line, its kind, where its value starts and where it ends. */
export interface PlannedChunk {
  text: string;
  lines: Int32Array;
  /** The event type of each `event:` line, in order, made before timing. */
  types: string[];
}

const FIELDS: [string, Kind][] = [
  ['data', Kind.Data],
  ['event', Kind.Event],
  ['id', Kind.Id],
  ['retry', Kind.Retry],
];

/**
 * Works out each line of chunks that end at a line end. Only what corpus (c) holds is known:
 * comments, the four fields with a colon, blank lines, CRLF or LF endings.
 */
export function planLines(chunks: string[]): PlannedChunk[] {
  return chunks.map((text) => {
    const lines: number[] = [];
    const types: string[] = [];
    let pos = 0;
    while (pos < text.length) {
      const lf = text.indexOf('\n', pos);
      if (lf === -1) throw new Error('event-building: a chunk must end at a line end');
      const end = text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
      if (end === pos) lines.push(Kind.Blank, pos, end);
      else if (text.charCodeAt(pos) === 58) lines.push(Kind.Comment, pos + 2, end);
      else {
        const colon = text.indexOf(':', pos);
        const field = FIELDS.find(([name]) => name === text.slice(pos, colon));
        if (field === undefined || colon > end) {
          throw new Error(`event-building: unexpected line ${text.slice(pos, end)}`);
        }
        const valueStart = text.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1;
        lines.push(field[1], valueStart, end);
        if (field[1] === Kind.Event) types.push(text.slice(valueStart, end));
      }
      pos = lf + 1;
    }
    return { text, lines: Int32Array.from(lines), types };
  });
}

/** Builds the events of planned chunks, with the same tally the contenders keep. */
export function buildEvents(chunks: PlannedChunk[]): Tally {
  const { tally, onEvent, onComment, onRetry } = tallying();
  let data = '';
  let hasData = false;
  let type = '';
  let id = '';
  for (const { text, lines, types } of chunks) {
    let nextType = 0;
    for (let i = 0; i < lines.length; i += 3) {
      const start = lines[i + 1]!;
      const end = lines[i + 2]!;
      switch (lines[i]) {
        case Kind.Blank:
          if (hasData) onEvent({ type: type === '' ? 'message' : type, data, lastEventId: id });
          data = '';
          hasData = false;
          type = '';
          break;
        case Kind.Comment:
          onComment(text.slice(start, end));
          break;
        case Kind.Data: {
          const value = text.slice(start, end);
          data = hasData ? `${data}\n${value}` : value;
          hasData = true;
          break;
        }
        case Kind.Event:
          type = types[nextType++]!;
          break;
        case Kind.Id:
          id = text.slice(start, end);
          break;
        default:
          onRetry(Number.parseInt(text.slice(start, end), 10));
      }
    }
  }
  return tally;
}

/** Cuts `text` into chunks of about `size` characters, each ending at a line end. */
export function chunkAtLineEnds(text: string, size: number): string[] {
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', Math.min(start + size, text.length) - 1);
    end = end === -1 ? text.length : end + 1;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}
