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
export {
  checkAppendBatch,
  MemoryResumableStore,
  type MemoryResumableStoreOptions,
} from './resumable/memory-resumable-store.js';
export { parseResumableEventId, resumableEventId } from './resumable/resumable-event-id.js';
export type {
  AppendResult,
  ResumableStore,
  StoredEntry,
  StreamEndType,
  StreamEntry,
  StreamSlice,
} from './resumable/resumable-store.js';
export {
  ResumableStreams,
  type ResumableStreamsOptions,
  type StartedStream,
} from './resumable/resumable-streams.js';
export { StoreFullError } from './resumable/store-full-error.js';
export { StreamExistsError } from './resumable/stream-exists-error.js';
export { STOP_REQUESTED, type StreamSource } from './resumable/stream-producer.js';
export { INTERRUPTED, type ResumableEvent, StreamReader } from './resumable/stream-reader.js';
export { CLOSE_GRACE_MS } from './sink.js';
export type { SocketRequest } from './socket-response.js';
export { type SseResponseOptions, sseResponse } from './sse-response.js';
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LAST_EVENT_ID_PARAM,
  DEFAULT_MAX_QUEUE_BYTES,
  type EventStreamOptions,
} from './stream-config.js';
