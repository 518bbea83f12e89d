/**
 * A load process: holds SSE connections to the server under test and measures what they
 * receive. Started by {@link LoadFleet} with `fork`, driven over IPC, and never sharing a
 * process (or an event loop) with the server it measures.
 */
import { nowMicros } from './clock.js';
import { LatencyHistogram } from './histogram.js';
import type {
  ConnectResult,
  IdleResult,
  LoadReply,
  LoadRequest,
  MarkerResult,
  SequenceResult,
  StatsResult,
  WindowResult,
} from './messages.js';
import { readSendTime } from './payload.js';
import {
  addSequenceCounts,
  markerField,
  NO_SEQUENCE,
  readAnsweredThrough,
  readSequenceNumber,
  SequenceWindow,
} from './sequence-window.js';
import { SseSocket, type SseSocketSink, type SseTarget } from './sse-socket.js';

const open = new Set<SseSocket>();
let opened = 0;
let failed = 0;
let droppedByServer = 0;
let events = 0;
let lastEventAt = 0;

// The measurement window.
let measuring = false;
let windowEvents = 0;
let windowDropped = 0;
let windowStart = 0;
let windowCpu = process.cpuUsage();
const latency = new LatencyHistogram();

// A marker being waited for.
let marker: string | undefined;
let markerReached = 0;
let markerFirst = 0;
let markerLast = 0;
let markerDone: (() => void) | undefined;

// Sequence tracking (tidings bench): one window per connection opened while tracking.
let sequenceField: string | undefined;
const sequences = new Map<SseSocket, SequenceWindow>();

// Pending connection attempts report here.
let onSettled: ((socket: SseSocket, reason: string | undefined) => void) | undefined;

const sink: SseSocketSink = {
  open(connection) {
    open.add(connection);
    opened++;
    if (sequenceField !== undefined) sequences.set(connection, new SequenceWindow());
    onSettled?.(connection, undefined);
  },
  event(connection, data) {
    events++;
    connection.events++;
    // One clock read per event is cheap next to parsing it, and exact even when one socket
    // read carries many events.
    const now = nowMicros();
    lastEventAt = now;
    if (measuring) {
      windowEvents++;
      const sent = readSendTime(data);
      if (sent > 0) latency.record(now - sent);
    }
    if (sequenceField !== undefined) {
      const n = readSequenceNumber(data, sequenceField);
      if (n >= 0) {
        const answered = readAnsweredThrough(data);
        sequences.get(connection)?.record(n, answered >= 0 ? answered : undefined);
      }
    }
    if (marker !== undefined && connection.markerAt === 0 && data.includes(marker)) {
      connection.markerAt = now;
      markerReached++;
      if (markerFirst === 0) markerFirst = now;
      markerLast = now;
      checkMarker();
    }
  },
  close(connection, reason, wasOpen) {
    open.delete(connection);
    if (wasOpen) {
      if (reason !== '') {
        droppedByServer++;
        if (measuring) windowDropped++;
      }
      checkMarker();
    } else {
      failed++;
      onSettled?.(connection, reason);
    }
  },
};

function checkMarker(): void {
  if (marker !== undefined && markerReached >= open.size) markerDone?.();
}

async function connectMany(
  request: Extract<LoadRequest, { op: 'connect' }>,
): Promise<ConnectResult> {
  // Attempts report through one module-level hook: one batch at a time.
  if (onSettled !== undefined) throw new Error('a connect request is already in progress');
  const started = Date.now();
  const errors: Record<string, number> = {};
  let next = 0;
  let settled = 0;
  let openedHere = 0;
  let inFlight = 0;
  const timers = new Map<SseSocket, NodeJS.Timeout>();
  return new Promise((resolve) => {
    onSettled = (socket, reason) => {
      const timer = timers.get(socket);
      if (timer === undefined) return;
      clearTimeout(timer);
      timers.delete(socket);
      inFlight--;
      settled++;
      if (reason === undefined) openedHere++;
      else errors[reason] = (errors[reason] ?? 0) + 1;
      if (settled === request.count) {
        onSettled = undefined;
        resolve({
          opened: openedHere,
          failed: request.count - openedHere,
          errors,
          elapsedMs: Date.now() - started,
        });
      } else launch();
    };
    const launch = () => {
      while (inFlight < request.concurrency && next < request.count) {
        const address =
          request.localAddresses.length === 0
            ? undefined
            : request.localAddresses[next % request.localAddresses.length];
        next++;
        inFlight++;
        const socket = new SseSocket(request.target as SseTarget, address, sink);
        timers.set(
          socket,
          setTimeout(() => socket.destroy('connect timeout'), request.timeoutMs),
        );
      }
    };
    if (request.count === 0) resolve({ opened: 0, failed: 0, errors, elapsedMs: 0 });
    else launch();
  });
}

function stopWindow(): WindowResult {
  const cpu = process.cpuUsage(windowCpu);
  const durationMs = (nowMicros() - windowStart) / 1000;
  measuring = false;
  return {
    events: windowEvents,
    durationMs,
    latency: latency.snapshot(),
    cpu: (cpu.user + cpu.system) / 1000 / durationMs,
    droppedByServer: windowDropped,
  };
}

function awaitMarker(value: string, timeoutMs: number): Promise<MarkerResult> {
  marker = value;
  markerReached = 0;
  markerFirst = 0;
  markerLast = 0;
  for (const connection of open) connection.markerAt = 0;
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      markerDone = undefined;
      marker = undefined;
      resolve({
        reached: markerReached,
        open: open.size,
        firstAt: markerFirst,
        lastAt: markerLast,
      });
    };
    const timer = setTimeout(finish, timeoutMs);
    markerDone = finish;
    checkMarker();
  });
}

function idle(quietMs: number, timeoutMs: number): Promise<IdleResult> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = () => {
      if ((nowMicros() - lastEventAt) / 1000 >= quietMs) resolve({ quiet: true, lastEventAt });
      else if (Date.now() >= deadline) resolve({ quiet: false, lastEventAt });
      else setTimeout(check, 25);
    };
    check();
  });
}

async function handle(request: LoadRequest): Promise<unknown> {
  switch (request.op) {
    case 'connect':
      return connectMany(request);
    case 'measure-start':
      latency.reset();
      windowEvents = 0;
      windowDropped = 0;
      windowCpu = process.cpuUsage();
      windowStart = nowMicros();
      measuring = true;
      return {};
    case 'measure-stop':
      return stopWindow();
    case 'await-marker':
      return awaitMarker(request.marker, request.timeoutMs);
    case 'idle':
      return idle(request.quietMs, request.timeoutMs);
    case 'stats':
      return {
        open: open.size,
        opened,
        failed,
        droppedByServer,
        events,
        rssBytes: process.memoryUsage.rss(),
      } satisfies StatsResult;
    case 'track-sequence':
      sequenceField = markerField(request.marker);
      return {};
    case 'sequence': {
      let counts = NO_SEQUENCE;
      for (const window of sequences.values())
        counts = addSequenceCounts(counts, window.counts(request.last));
      return { ...counts, subscribers: sequences.size } satisfies SequenceResult;
    }
    case 'close':
      for (const connection of [...open]) connection.destroy();
      return {};
  }
}

process.on('message', (message: { id: number; request: LoadRequest }) => {
  handle(message.request).then(
    (result) => {
      process.send?.({ id: message.id, ok: true, result } satisfies LoadReply, () => {
        if (message.request.op === 'close') process.exit(0);
      });
    },
    (error: unknown) => {
      process.send?.({ id: message.id, ok: false, error: String(error) } satisfies LoadReply);
    },
  );
});

// The runner owns this process: when it goes away, so do we (and all our sockets).
process.on('disconnect', () => process.exit(0));
