import type { StreamStats } from '@tidings/server';

/**
 * What `streamStats()` reads once every stream has closed and let go of everything it held: no
 * heartbeat timer or sweep entry, no flush waiting, no socket lingering in its close grace.
 * Typed as StreamStats so a new counter fails to compile here, not in one test out of seven.
 */
export const RELEASED_STREAM_STATS: Readonly<StreamStats> = {
  open: 0,
  heartbeatTimers: 0,
  heartbeatStreams: 0,
  pendingFlushes: 0,
  lingering: 0,
};
