export { type BackoffOptions, type BackoffState, backoffDelay } from './backoff.js';
export { type Clock, systemClock } from './clock.js';
export {
  type BodySource,
  type ConnectOptions,
  connect,
  type DisconnectReason,
  defaultShouldReconnect,
  type EventMap,
  EventStreamConnection,
  type ReconnectContext,
  type ReconnectDecision,
  type StreamEvent,
  type StreamEventOf,
} from './connect.js';
export {
  ConnectionError,
  EventDataError,
  ResponseError,
  RetryLimitError,
  StallError,
} from './errors.js';
export {
  EventSource,
  EventSourceErrorEvent,
  type EventSourceEventMap,
  type EventSourceInit,
  type HeadersSource,
} from './event-source.js';
