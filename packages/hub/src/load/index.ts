/**
 * `@tidings/hub/load`: the load client behind `tidings bench` and the repository's
 * benchmarks. Subscribers live in forked load processes (never in the process that publishes
 * or the server measured), speak HTTP/1.1 over raw sockets, and report latency histograms
 * that merge across processes.
 */
export { RpcChild, track } from './child-process.js';
export { nowMicros } from './clock.js';
export { type FleetMarker, type FleetWindow, LoadFleet, setLoadExecArgv } from './fleet.js';
export { bucketUpperEdgeMicros, type HistogramSnapshot, LatencyHistogram } from './histogram.js';
export {
  DEFAULT_PUBLISH_CONNECTIONS,
  HttpPublisher,
  type HttpPublisherTarget,
  type PublishRun,
} from './http-publisher.js';
export type {
  ConnectResult,
  IdleResult,
  LoadReply,
  LoadRequest,
  MarkerResult,
  SequenceResult,
  StatsResult,
  WindowResult,
} from './messages.js';
export { type BenchPayload, createPayload, readSendTime } from './payload.js';
export {
  addSequenceCounts,
  markerField,
  NO_SEQUENCE,
  readAnsweredThrough,
  readSequenceNumber,
  SEQUENCE_WINDOW,
  type SequenceCounts,
  SequenceWindow,
} from './sequence-window.js';
export { sourceAddresses } from './source-addresses.js';
export { SseSocket, type SseSocketSink, type SseTarget } from './sse-socket.js';
