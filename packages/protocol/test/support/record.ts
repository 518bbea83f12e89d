import {
  createParser,
  type EventStreamParser,
  type ParserOptions,
  type ServerSentEvent,
} from '@tidings/protocol';

/** Everything a parser reported, in a shape that compares with `toEqual`. */
export interface Recording {
  events: ServerSentEvent[];
  retries: number[];
  comments: string[];
  /** `ParseError`s as `code:limit`, so two recordings compare without stack traces. */
  errors: string[];
  /** One entry per callback, in order: catches reorderings that the lists above would hide. */
  log: string[];
}

export interface RecordingParser {
  parser: EventStreamParser;
  recording: Recording;
}

/** A parser whose every callback is written down. */
export function recordingParser(options?: ParserOptions): RecordingParser {
  const recording: Recording = { events: [], retries: [], comments: [], errors: [], log: [] };
  const parser = createParser(
    {
      onEvent(event) {
        recording.events.push(event);
        recording.log.push(`event ${JSON.stringify(event)}`);
      },
      onRetry(ms) {
        recording.retries.push(ms);
        recording.log.push(`retry ${ms}`);
      },
      onComment(text) {
        recording.comments.push(text);
        recording.log.push(`comment ${JSON.stringify(text)}`);
      },
      onError(error) {
        recording.errors.push(`${error.code}:${error.limit}`);
        recording.log.push(`error ${error.code}`);
      },
    },
    options,
  );
  return { parser, recording };
}

/** Feeds the chunks of one stream, ends it, and returns what was reported plus the final id. */
export function parseChunks(
  chunks: Iterable<string | Uint8Array>,
  options?: ParserOptions,
): Recording & { lastEventId: string } {
  const { parser, recording } = recordingParser(options);
  for (const chunk of chunks) parser.feed(chunk);
  parser.end();
  return { ...recording, lastEventId: parser.lastEventId };
}
