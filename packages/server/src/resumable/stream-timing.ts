/** The timing and size rules one ResumableStreams applies to each of its streams. */
export interface StreamTiming {
  /** How long a producer's lease lasts without renewal. It is renewed every third of it. */
  leaseMs: number;
  /** How long a waiting reader waits before it reads again and checks for an orphaned stream. */
  pollMs: number;
  /** How long a stream goes on with nobody reading before its source is stopped. */
  graceMs: number;
  /** How long an ended stream can still be read. */
  retentionMs: number;
  /** Most events a stream may have (its terminal event included). */
  maxEvents: number;
  /** Most characters of event data a stream may have. */
  maxDataLength: number;
}
