export { encodeComment, encodeCommentBytes, encodeEvent, encodeEventBytes } from './encode.js';
export { EventStreamEncoderStream } from './encoder-stream.js';
export { ParseError, type ParseErrorCode } from './errors.js';
export {
  createParser,
  DEFAULT_MAX_EVENT_SIZE,
  DEFAULT_MAX_LINE_LENGTH,
  type EventStreamParser,
  type ParserCallbacks,
  type ParserOptions,
} from './parse.js';
export { EventStreamParserStream, type EventStreamParserStreamOptions } from './parser-stream.js';
export type { EventMessage, ServerSentEvent } from './types.js';
