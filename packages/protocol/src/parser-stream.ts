import type { ParseError } from './errors.js';
import { createParser, type EventStreamParser, type ParserOptions } from './parse.js';
import type { ServerSentEvent } from './types.js';

export interface EventStreamParserStreamOptions extends ParserOptions {
  /** Called for each valid `retry:` field. */
  onRetry?(milliseconds: number): void;
  /** Called for each comment line. */
  onComment?(text: string): void;
  /**
   * What a {@link ParseError} (a limit exceeded) does: `'terminate'` (the default) errors the
   * stream with it; `'ignore'` drops the event and goes on; a function is called with it and
   * the stream goes on.
   */
  onError?: 'terminate' | 'ignore' | ((error: ParseError) => void);
}

/**
 * A TransformStream from a `text/event-stream` body (bytes or strings) to events, e.g.
 * `response.body.pipeThrough(new EventStreamParserStream())`. Works in browsers, Node and
 * workers. At the end of the input, an unfinished event is discarded, as the spec says.
 */
export class EventStreamParserStream extends TransformStream<string | Uint8Array, ServerSentEvent> {
  constructor(options: EventStreamParserStreamOptions = {}) {
    const { onRetry, onComment, onError = 'terminate', ...parserOptions } = options;
    let parser!: EventStreamParser;
    // Once the stream has been errored, nothing more is parsed or reported: the rest of the
    // chunk that hit the limit must not reach onRetry or onComment either.
    let failed = false;
    super({
      start(controller) {
        parser = createParser(
          {
            onEvent: (event) => {
              if (!failed) controller.enqueue(event);
            },
            onRetry: (milliseconds) => {
              if (!failed) onRetry?.(milliseconds);
            },
            onComment:
              onComment &&
              ((text) => {
                if (!failed) onComment(text);
              }),
            onError:
              onError === 'terminate'
                ? (error) => {
                    failed = true;
                    controller.error(error);
                  }
                : onError === 'ignore'
                  ? undefined
                  : onError,
          },
          parserOptions,
        );
      },
      transform(chunk) {
        if (!failed) parser.feed(chunk);
      },
      flush() {
        if (!failed) parser.end();
      },
    });
  }
}
