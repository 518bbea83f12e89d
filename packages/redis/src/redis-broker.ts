import { randomUUID } from 'node:crypto';
import {
  type Broker,
  BrokerConfigError,
  type BrokerContext,
  type BrokerFeed,
  type BrokerHealth,
  BrokerUnavailableError,
  encodeUpdate,
  type Logger,
  type LogHead,
  type LogPosition,
  type ReplayFrom,
  type ReplayOptions,
  type ReplayPage,
  type StoredUpdate,
  type Update,
} from '@tidings/hub';
import type { Redis } from 'ioredis';
import { APPEND_SCRIPT, HEAD_SCRIPT, REWIND_SCRIPT, TRIM_SCRIPT } from './log-scripts.js';
import { RedisBrokerMetrics } from './redis-broker-metrics.js';
import {
  addressOf,
  connectionOptions,
  createConnection,
  MAX_RECONNECT_DELAY_MS,
  openConnection,
} from './redis-connection.js';
import { RedisPresence } from './redis-presence.js';
import {
  parseRedisTransport,
  REDIS_DEFAULTS,
  type RedisTransportOptions,
} from './redis-transport-options.js';

/**
 * How long one blocking read waits, ms; also how often, at most, the feed reads the epoch
 * while the log is busy (see #read).
 */
const BLOCK_MS = 1000;
/** The most entries one read of the feed takes. */
const READ_COUNT = 1000;
/**
 * How often an idle feed trims the log by age: a tenth of `max_age`, between one second and a
 * minute, so an entry outlives `max_age` by at most that while nobody publishes.
 */
function ageTrimEveryMs(maxAgeMs: number): number {
  return Math.min(60_000, Math.max(BLOCK_MS, Math.round(maxAgeMs / 10)));
}

/** The commands the scripts add to a connection. */
interface LogConnection extends Redis {
  tidingsHead(meta: string, log: string, ids: string, epoch: string): Promise<(string | null)[]>;
  tidingsRewind(
    meta: string,
    log: string,
    ids: string,
    epoch: string,
    sequence: number,
    newEpoch: string,
    markId: string,
    markTime: string,
  ): Promise<(string | null)[]>;
  tidingsAppend(
    meta: string,
    log: string,
    ids: string,
    epoch: string,
    id: string,
    json: string,
    maxEvents: number,
    maxAgeMs: number,
  ): Promise<[string, number]>;
  tidingsTrim(
    meta: string,
    log: string,
    ids: string,
    maxEvents: number,
    maxAgeMs: number,
  ): Promise<number>;
}

/** A stream entry as ioredis returns it: `[id, [field, value, ...]]`. */
type Entry = [string, string[]];

/**
 * What tells one entry from another that took its sequence: the update id and the Redis time
 * of the append (fields `i` and `t`).
 */
interface EntryMark {
  readonly id: string;
  readonly time: string;
}

/** The JSON kept in an entry's `u` field. */
interface KeptUpdate extends Update {
  readonly acceptedAt: number;
}

/**
 * The hub's log on Redis Streams, shared by every node that names the same Redis and key.
 *
 * - Appends go through one Lua script that keeps the epoch, the sequence (entry ids are
 *   `<sequence>-0`), the id index and the trimming consistent; the publisher is acknowledged
 *   once Redis has run it (and, with `wait=N`, once N replicas confirmed it).
 * - Each node reads the stream with ONE blocking `XREAD` on a connection of its own, and hands
 *   what it reads to its hub's fan-out; after a disconnection it reads on from the last
 *   position it delivered, so nothing is lost or repeated. Entries trimmed before it could
 *   read them are reported as a gap; a log found without its epoch (FLUSHALL, a failover to an
 *   empty replica) gets a new one, and the feed moves to it through a gap.
 * - Replay pages with `XRANGE`, never past the join point.
 * - Redis unreachable: commands fail at once (no offline queue) or after `timeout`, as
 *   BrokerUnavailableError, and the connections reconnect on their own.
 */
export class RedisBroker implements Broker {
  readonly name = 'redis';
  /** Who is subscribed on every node of this log; the hub starts it for the subscriptions API. */
  readonly presence: RedisPresence;
  readonly #options: RedisTransportOptions;
  readonly #logger: Logger;
  readonly #metrics: RedisBrokerMetrics;
  readonly #keys: readonly [meta: string, log: string, ids: string];
  readonly #commands: LogConnection;
  #reader: LogConnection | undefined;
  #feed: BrokerFeed | undefined;
  #reading: Promise<void> | undefined;
  #readerHealth: BrokerHealth = { ready: true };
  /** Set by each reconnection of the feed's connection: the primary may be another one now. */
  #readerReconnected = false;
  #closed = false;

  constructor(options: RedisTransportOptions, context: BrokerContext) {
    this.#options = options;
    this.#logger = context.logger;
    this.#metrics = new RedisBrokerMetrics(context.registry);
    this.#keys = [`${options.key}:meta`, `${options.key}:log`, `${options.key}:ids`];
    this.#commands = this.#connect('tidings', options.timeoutMs);
    this.presence = new RedisPresence(options, context.logger);
  }

  /** Reads a Redis transport URL (see {@link parseRedisTransport}); `transport` as written. */
  static fromUrl(url: URL, context: BrokerContext, transport = url.href): RedisBroker {
    return new RedisBroker(parseRedisTransport(url, transport), context);
  }

  /**
   * Where this broker's Redis is, for messages, without credentials: `host:port`, or
   * `master <name> via Sentinel host:port, …`.
   */
  get address(): string {
    return addressOf(this.#options.connection);
  }

  async start(feed: BrokerFeed): Promise<void> {
    this.#assertOpen();
    const reader = this.#connect('tidings-feed', BLOCK_MS + this.#options.timeoutMs);
    this.#reader = reader;
    let head: LogHead;
    let mark: EntryMark | undefined;
    // Listening before the first connection: a reconnection while the start below runs
    // (to a primary that just failed over) must be checked like any later one; the first
    // `ready` costs one check of the mark read below.
    reader.on('ready', () => {
      this.#readerReconnected = true;
    });
    try {
      await Promise.all([this.#opened(this.#commands), this.#opened(reader)]);
      await this.#refuseCluster();
      head = await this.head();
      mark = head.sequence > 0 ? await this.#markAt(head.sequence) : undefined;
    } catch (error) {
      // Nothing keeps retrying behind a hub that failed to start.
      await this.close();
      throw error;
    }
    this.#feed = feed;
    this.#reading = this.#read(reader, { epoch: head.epoch, sequence: head.sequence }, mark);
  }

  async publish(update: Update): Promise<StoredUpdate> {
    this.#assertOpen();
    const acceptedAt = performance.timeOrigin + performance.now();
    const kept: KeptUpdate = {
      topics: update.topics,
      data: update.data,
      private: update.private,
      id: update.id,
      type: update.type,
      retry: update.retry,
      acceptedAt,
      // Only while tracing records: other nodes' fan-out continues the publisher's trace.
      ...(update.trace === undefined ? {} : { trace: update.trace }),
    };
    const [meta, log, ids] = this.#keys;
    const [epoch, sequence] = await this.#call('append the update', () =>
      this.#commands.tidingsAppend(
        meta,
        log,
        ids,
        randomUUID(),
        update.id,
        JSON.stringify(kept),
        this.#options.maxEvents,
        this.#options.maxAgeMs,
      ),
    );
    const wanted = this.#options.waitReplicas;
    if (wanted > 0) {
      const confirmed = await this.#call('wait for replicas', () =>
        this.#commands.wait(wanted, this.#options.waitTimeoutMs),
      );
      if (confirmed < wanted) {
        this.#metrics.publishes.inc({ outcome: 'unreplicated' });
        throw new BrokerUnavailableError(
          `only ${confirmed} of ${wanted} Redis replicas confirmed the update within ${this.#options.waitTimeoutMs} ms; it may still be delivered`,
        );
      }
    }
    this.#metrics.publishes.inc({ outcome: 'kept' });
    this.#metrics.publishSeconds.observe(
      (performance.timeOrigin + performance.now() - acceptedAt) / 1000,
    );
    return { ...kept, epoch, sequence: Number(sequence), chunk: encodeUpdate(update) };
  }

  async head(): Promise<LogHead> {
    this.#assertOpen();
    const [epoch, sequence, last] = await this.#call('read the head of the log', () =>
      this.#commands.tidingsHead(...this.#keys, randomUUID()),
    );
    return { epoch: epoch!, sequence: Number(sequence), lastEventId: last ?? undefined };
  }

  async replay(from: ReplayFrom, options: ReplayOptions): Promise<ReplayPage> {
    this.#assertOpen();
    const [meta, log, ids] = this.#keys;
    const { upTo } = options;
    if (from.kind === 'position' && from.position.epoch !== upTo.epoch) return EPOCH_CHANGED;
    const [epoch, idSequence, oldest] = await this.#call('look up the replay start', async () => {
      const replies = await this.#commands
        .multi()
        .hget(meta, 'epoch')
        .hget(ids, from.kind === 'id' ? from.id : '')
        .xrange(log, '-', '+', 'COUNT', 1)
        .exec();
      if (!replies) throw new Error('the lookup transaction was aborted');
      for (const [error] of replies) if (error) throw error;
      return replies.map(([, value]) => value) as [string | null, string | null, Entry[]];
    });
    if (epoch !== upTo.epoch) return EPOCH_CHANGED;
    const first = oldest[0] === undefined ? undefined : sequenceOf(oldest[0][0]);

    // The page starts with the entry just before the replay, when there is one to name: its
    // id is the `Last-Event-ID` the hub sends back.
    let outcome: ReplayPage['outcome'];
    let after: number | undefined;
    if (from.kind === 'earliest') {
      outcome = 'earliest';
    } else if (from.kind === 'id') {
      if (idSequence === null || (first !== undefined && Number(idSequence) < first)) {
        outcome = 'unknown-id';
      } else {
        outcome = 'resumed';
        after = Number(idSequence);
      }
    } else if (first !== undefined && from.position.sequence < first - 1) {
      // Trimmed between two pages: the rest of the replay would have a hole.
      outcome = 'unknown-id';
    } else {
      outcome = 'resumed';
      after = from.position.sequence;
    }
    if (upTo.sequence <= (after ?? 0)) {
      const precedingId = after === undefined ? undefined : await this.#idAt(after);
      return { outcome, updates: [], precedingId, next: undefined };
    }

    const limit = Math.max(1, options.limit);
    const entries = await this.#call('read the log', () =>
      this.#commands.xrange(
        log,
        after === undefined ? '-' : `${after}-0`,
        `${upTo.sequence}-0`,
        'COUNT',
        limit + (after === undefined ? 0 : 1),
      ),
    );
    let precedingId: string | undefined;
    const updates: StoredUpdate[] = [];
    for (const entry of entries as Entry[]) {
      const sequence = sequenceOf(entry[0]);
      const stored = decodeEntry(entry, sequence);
      // Every entry names its epoch: one of another epoch means the log was reset meanwhile.
      if (stored.epoch !== upTo.epoch) return EPOCH_CHANGED;
      if (sequence === after) precedingId = stored.id;
      else updates.push(stored);
    }
    const last = updates.at(-1)?.sequence;
    const next =
      updates.length === limit && last !== undefined && last < upTo.sequence
        ? { epoch: upTo.epoch, sequence: last }
        : undefined;
    return { outcome, updates, precedingId, next };
  }

  async health(): Promise<BrokerHealth> {
    if (this.#closed) return { ready: false, reason: 'the Redis broker is closed' };
    if (this.#commands.status !== 'ready') {
      return {
        ready: false,
        reason: `Redis at ${this.address} is unreachable (${this.#commands.status})`,
      };
    }
    return this.#readerHealth;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed = undefined;
    await this.presence.close();
    this.#reader?.disconnect();
    this.#commands.disconnect();
    await this.#reading;
  }

  // ---- the feed ------------------------------------------------------------------------

  /**
   * The one blocking read of this node: from `position` on, for as long as the broker is open.
   * `mark` is what the entry at `position` held, when known.
   */
  async #read(reader: LogConnection, start: LogPosition, startMark?: EntryMark): Promise<void> {
    const log = this.#keys[1];
    let position = start;
    let mark = startMark;
    let failures = 0;
    // The epoch is read before the first read, after a read that timed out, after a
    // reconnection or a failure, after an entry of another epoch, and at least once every
    // BLOCK_MS while entries keep coming: not on every wake, where it would add a round trip
    // to every delivery. A log reset (FLUSHALL, a failover) drops or blocks the connection,
    // leaves the stream idle or shows an entry of a new epoch, so each is still noticed.
    let epochCheckedAt = Number.NEGATIVE_INFINITY;
    const checkEpochNext = () => {
      epochCheckedAt = Number.NEGATIVE_INFINITY;
    };
    reader.on('ready', checkEpochNext);
    const { maxAgeMs, maxEvents } = this.#options;
    let ageTrimmedAt = performance.now();
    while (!this.#closed) {
      try {
        if (this.#readerReconnected) {
          // After a reconnection Redis may be another primary (a failover). One promoted
          // without the newest entries hands their sequences out again, to other updates, so
          // the entry this node delivered last must still be the same one; if it is not, the
          // script starts a new epoch and every node's subscribers resume, told.
          const head = await reader.tidingsRewind(
            ...this.#keys,
            position.epoch,
            position.sequence,
            randomUUID(),
            mark?.id ?? '',
            mark?.time ?? '',
          );
          this.#readerReconnected = false;
          if (head[0] !== position.epoch) {
            const resumeAfter = { epoch: head[0]!, sequence: 0 };
            this.#gap(
              position,
              resumeAfter,
              `the Redis log no longer holds update ${position.sequence} as this node delivered it (flushed, or failed over to a replica that lacked the newest updates): a new epoch starts`,
            );
            position = resumeAfter;
            mark = undefined;
          }
        }
        if (performance.now() - epochCheckedAt >= BLOCK_MS) {
          epochCheckedAt = performance.now();
          const checked = await this.#checkEpoch(reader, position, mark);
          if (checked !== position) {
            position = checked;
            mark = undefined;
          }
        }
        const reply = (await reader.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          log,
          `${position.sequence}-0`,
        )) as [string, Entry[]][] | null;
        if (failures > 0) {
          failures = 0;
          this.#setReaderHealth({ ready: true });
        }
        if (reply === null) {
          checkEpochNext();
          // Nobody appends (whose script trims): entries past max_age go from here.
          if (maxAgeMs > 0 && performance.now() - ageTrimmedAt >= ageTrimEveryMs(maxAgeMs)) {
            ageTrimmedAt = performance.now();
            await reader.tidingsTrim(...this.#keys, maxEvents, maxAgeMs);
          }
        }
        for (const entry of reply?.[0]?.[1] ?? []) {
          if (this.#closed) return;
          const sequence = sequenceOf(entry[0]);
          const stored = decodeEntry(entry, sequence);
          // Of another epoch: the log was reset since the epoch was read; read it again.
          if (stored.epoch !== position.epoch) {
            checkEpochNext();
            break;
          }
          if (sequence !== position.sequence + 1) {
            this.#gap(
              position,
              { epoch: position.epoch, sequence: sequence - 1 },
              `updates ${position.sequence + 1}–${sequence - 1} were trimmed from the Redis log before this node read them (raise max_events or max_age)`,
            );
          }
          position = { epoch: position.epoch, sequence };
          mark = markOf(entry);
          this.#metrics.feedUpdates.inc();
          this.#feed?.update(stored);
        }
      } catch (error) {
        if (this.#closed) return;
        checkEpochNext();
        failures++;
        if (failures === 1) {
          this.#setReaderHealth({
            ready: false,
            reason: `Redis at ${this.address} is unreachable: ${(error as Error).message}`,
          });
        }
        await pause(Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** failures));
      }
    }
  }

  /**
   * Reads the log's epoch and sequence; when the log was reset or went back since
   * `position`, starts reading the new epoch from its start, told through a gap. `mark` is
   * what the entry at `position` held, when known.
   */
  async #checkEpoch(
    reader: LogConnection,
    position: LogPosition,
    mark: EntryMark | undefined,
  ): Promise<LogPosition> {
    const [epoch, sequence] = await reader.hmget(this.#keys[0], 'epoch', 'sequence');
    if (epoch === position.epoch && Number(sequence) < position.sequence) {
      // The script decides with the log as it is now: publishers may have appended up to
      // and past `position` since the read above. If the entry there is still the one this
      // node delivered, nothing was lost and the epoch stays; if it was handed out again to
      // another update, a new epoch starts.
      const head = await reader.tidingsRewind(
        ...this.#keys,
        position.epoch,
        position.sequence,
        randomUUID(),
        mark?.id ?? '',
        mark?.time ?? '',
      );
      if (head[0] === position.epoch) return position;
      const resumeAfter = { epoch: head[0]!, sequence: 0 };
      this.#gap(
        position,
        resumeAfter,
        `the Redis log went back from sequence ${position.sequence} to ${sequence} (a failover to a replica that lacked the newest updates): a new epoch starts`,
      );
      position = resumeAfter;
    } else if (epoch !== position.epoch) {
      const head = await reader.tidingsHead(...this.#keys, randomUUID());
      const resumeAfter = { epoch: head[0]!, sequence: 0 };
      this.#gap(
        position,
        resumeAfter,
        'the Redis log was reset (flushed, or failed over to a replica without it)',
      );
      position = resumeAfter;
    }
    return position;
  }

  #gap(after: LogPosition, resumeAfter: LogPosition, reason: string): void {
    this.#metrics.feedGaps.inc();
    this.#logger.warn({ after, resumeAfter }, `the Redis feed has a gap: ${reason}`);
    this.#feed?.gap({ after, resumeAfter, reason });
  }

  #setReaderHealth(health: BrokerHealth): void {
    this.#readerHealth = health;
    this.#metrics.up.set(health.ready ? 1 : 0);
    this.#feed?.health(health);
  }

  // ---- plumbing ------------------------------------------------------------------------

  #connect(name: string, commandTimeout: number): LogConnection {
    const connection = createConnection(
      this.#options.connection,
      connectionOptions(name, commandTimeout),
    ) as LogConnection;
    connection.defineCommand('tidingsHead', { numberOfKeys: 3, lua: HEAD_SCRIPT });
    connection.defineCommand('tidingsAppend', { numberOfKeys: 3, lua: APPEND_SCRIPT });
    connection.defineCommand('tidingsRewind', { numberOfKeys: 3, lua: REWIND_SCRIPT });
    connection.defineCommand('tidingsTrim', { numberOfKeys: 3, lua: TRIM_SCRIPT });
    // Errors reach the callers of commands; the connection itself only reconnects.
    connection.on('error', () => {});
    return connection;
  }

  /**
   * Cluster mode is refused up front: the append script touches three keys, which a Cluster
   * takes only in one hash slot, and no Cluster client is wired in. A server that does not
   * let us read INFO is taken as it is.
   */
  async #refuseCluster(): Promise<void> {
    let info: string;
    try {
      info = await this.#commands.info('cluster');
    } catch {
      return;
    }
    if (/^cluster_enabled:1/m.test(info)) {
      throw new BrokerConfigError(
        `Redis at ${this.address} runs in Cluster mode, which the transport does not support; use a standalone Redis or a Sentinel-managed primary (redis+sentinel://)`,
      );
    }
  }

  #opened(connection: LogConnection): Promise<void> {
    return openConnection(connection, this.address);
  }

  async #call<T>(what: string, command: () => Promise<T>): Promise<T> {
    // ioredis's own words for this ("Stream isn't writeable and enableOfflineQueue options
    // is false") mean nothing to the person reading the 503.
    if (this.#commands.status !== 'ready' && !this.#closed) {
      this.#metrics.errors.inc();
      throw new BrokerUnavailableError(
        `Redis at ${this.address} is unreachable (${this.#commands.status}); nothing was kept`,
      );
    }
    try {
      return await command();
    } catch (error) {
      if (this.#closed) throw new BrokerUnavailableError('the Redis broker is closed');
      this.#metrics.errors.inc();
      throw new BrokerUnavailableError(
        `Redis at ${this.address} could not ${what}: ${(error as Error).message}`,
      );
    }
  }

  async #markAt(sequence: number): Promise<EntryMark | undefined> {
    const [entry] = (await this.#call('read the log', () =>
      this.#commands.xrange(this.#keys[1], `${sequence}-0`, `${sequence}-0`),
    )) as Entry[];
    return entry && markOf(entry);
  }

  async #idAt(sequence: number): Promise<string | undefined> {
    const [entry] = (await this.#call('read the log', () =>
      this.#commands.xrange(this.#keys[1], `${sequence}-0`, `${sequence}-0`),
    )) as Entry[];
    return entry?.[1][3];
  }

  #assertOpen(): void {
    if (this.#closed) throw new BrokerUnavailableError('the Redis broker is closed');
  }
}

export { REDIS_DEFAULTS };

const EPOCH_CHANGED: ReplayPage = {
  outcome: 'epoch-changed',
  updates: [],
  precedingId: undefined,
  next: undefined,
};

/** Entry ids are `<sequence>-0`. */
function sequenceOf(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf('-')));
}

/** The update id and Redis time of an entry: fields `i` and `t` (of e, i, t, u). */
function markOf(entry: Entry): EntryMark {
  return { id: entry[1][3]!, time: entry[1][5]! };
}

/** Fields are written in one order by the append script: e, i, t, u. */
function decodeEntry(entry: Entry, sequence: number): StoredUpdate {
  const fields = entry[1];
  const kept = JSON.parse(fields[7]!) as KeptUpdate;
  const update: Update = {
    topics: kept.topics,
    data: kept.data,
    private: kept.private,
    id: kept.id,
    type: kept.type ?? undefined,
    retry: kept.retry ?? undefined,
  };
  return {
    ...update,
    ...(kept.trace === undefined ? {} : { trace: kept.trace }),
    epoch: fields[1]!,
    sequence,
    chunk: encodeUpdate(update),
    acceptedAt: kept.acceptedAt,
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
