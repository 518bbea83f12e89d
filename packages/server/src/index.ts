export {
  Channel,
  type ChannelOptions,
  HISTORY_GAP_EVENT,
  type PublishOptions,
  type SubscribeOptions,
} from './channel.js';
export { discoveryLinkHeader } from './discovery.js';
export { createEventId } from './event-id.js';
export type { EventMap, SendOptions } from './event-message.js';
export {
  type CloseReason,
  EventStream,
  type PipeOptions,
  type StreamStats,
  streamStats,
} from './event-stream.js';
export {
  DEFAULT_HISTORY_MAX_BYTES,
  DEFAULT_HISTORY_MAX_EVENTS,
  History,
  type HistoryEntry,
  type HistoryOptions,
} from './history.js';
export { CLOSE_GRACE_MS } from './sink.js';
export { type SseResponseOptions, sseResponse } from './sse-response.js';
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LAST_EVENT_ID_PARAM,
  DEFAULT_MAX_QUEUE_BYTES,
  type EventStreamOptions,
} from './stream-config.js';
