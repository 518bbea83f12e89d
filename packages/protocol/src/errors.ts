/** Why the parser refused part of its input. */
export type ParseErrorCode = 'line-too-long' | 'event-too-large';

/**
 * Reported through `onError` when the input goes over one of the parser's limits. The parser
 * stays usable: it drops the offending line and the event being built, and resumes with the
 * next event (after the next blank line).
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly code: ParseErrorCode;
  /** The limit that was exceeded, in UTF-16 code units. */
  readonly limit: number;

  constructor(code: ParseErrorCode, limit: number) {
    super(
      code === 'line-too-long'
        ? `SSE line longer than ${limit} characters; the line and its event were dropped`
        : `SSE event data larger than ${limit} characters; the event was dropped`,
    );
    this.code = code;
    this.limit = limit;
  }
}
