import {
  type AppendResult,
  checkAppendBatch,
  type ResumableStore,
  type StoredEntry,
  type StreamEntry,
  type StreamSlice,
} from '@tidings/server';
import { Redis } from 'ioredis';
import { createConnection, MAX_RECONNECT_DELAY_MS } from './redis-connection.js';
import { parseRedisTransportText } from './redis-transport-options.js';

/**
 * How long a running stream's keys outlive its last lease renewal, ms, on top of the lease: a
 * stream whose producer died and that nobody reads again still goes away on its own.
 */
const ORPHAN_KEEP_MS = 10 * 60_000;
/** How long a pub/sub subscription is kept after its last listener left, for the next wait. */
const SUBSCRIPTION_LINGER_MS = 2_000;
const TERMINAL = new Set(['done', 'failed', 'stopped']);

// The log is a Redis Stream whose entry ids are `<position + 1>-0`, so the position is in the
// id, XLEN is the next position, and XRANGE from `<after + 2>-0` reads after a position.
// Each script makes its decision and its write in one step, so instances sharing the Redis
// cannot interleave between them.

/** KEYS meta lease; ARGV producer leaseMs keepMs. */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'producer', ARGV[1], 'ended', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1`;

/**
 * KEYS meta log lease; ARGV producer seq terminal retentionMs keepMs channel, then type and data
 * of each entry. All or nothing: a script runs whole.
 */
const APPEND = `
local meta = redis.call('HMGET', KEYS[1], 'producer', 'ended', 'interruptedAt')
if not meta[1] or meta[1] ~= ARGV[1] then return 'lost' end
local length = redis.call('XLEN', KEYS[2])
local seq = tonumber(ARGV[2])
local count = (#ARGV - 6) / 2
if seq > length then return redis.error_reply('GAP the next position is ' .. length) end
if seq + count <= length then
  if meta[3] and seq + count > tonumber(meta[3]) then return 'lost' end
  return 'duplicate'
end
if meta[2] == '1' then return 'lost' end
for i = length - seq, count - 1 do
  redis.call('XADD', KEYS[2], (seq + i + 1) .. '-0', 't', ARGV[7 + 2 * i], 'd', ARGV[8 + 2 * i])
end
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'ended', '1')
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  redis.call('DEL', KEYS[3])
elseif length == 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
redis.call('PUBLISH', ARGV[6], 'a' .. (seq + count))
return 'appended'`;

/** KEYS meta log lease; ARGV producer leaseMs keepMs. */
const RENEW = `
local meta = redis.call('HMGET', KEYS[1], 'producer', 'ended')
if not meta[1] or meta[1] ~= ARGV[1] or meta[2] == '1' then return 0 end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`;

/** KEYS meta log lease; ARGV reason retentionMs channel. */
const INTERRUPT = `
local ended = redis.call('HGET', KEYS[1], 'ended')
if not ended or ended == '1' or redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local length = redis.call('XLEN', KEYS[2])
redis.call('XADD', KEYS[2], (length + 1) .. '-0', 't', 'failed', 'd', ARGV[1])
redis.call('HSET', KEYS[1], 'ended', '1', 'interruptedAt', length)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[3], 'a' .. (length + 1))
return 1`;

/** KEYS meta log; ARGV start limit. Returns false for no stream, else {length, ended, entries}. */
const READ = `
local ended = redis.call('HGET', KEYS[1], 'ended')
if not ended then return false end
local entries = redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', ARGV[2])
return {redis.call('XLEN', KEYS[2]), ended, entries}`;

/** KEYS meta; ARGV channel. */
const REQUEST_STOP = `
local ended = redis.call('HGET', KEYS[1], 'ended')
if not ended or ended == '1' then return 0 end
redis.call('HSET', KEYS[1], 'stop', '1')
redis.call('PUBLISH', ARGV[1], 's')
return 1`;

interface ScriptedRedis extends Redis {
  resumableCreate(meta: string, lease: string, ...args: (string | number)[]): Promise<number>;
  resumableAppend(
    meta: string,
    log: string,
    lease: string,
    ...args: (string | number)[]
  ): Promise<AppendResult>;
  resumableRenew(
    meta: string,
    log: string,
    lease: string,
    ...args: (string | number)[]
  ): Promise<number>;
  resumableInterrupt(
    meta: string,
    log: string,
    lease: string,
    ...args: (string | number)[]
  ): Promise<number>;
  resumableRead(
    meta: string,
    log: string,
    ...args: (string | number)[]
  ): Promise<[number, string, [string, string[]][]] | null>;
  resumableRequestStop(meta: string, channel: string): Promise<number>;
}

export interface RedisResumableStoreOptions {
  /**
   * A connection (kept open by its owner), or a URL the store opens and closes:
   * `redis://`, `rediss://`, or `redis+sentinel://[user:pass@]host1:26379[,host2…]/<master>[/db]`
   * (`rediss+sentinel://`, `?sentinel_username=…&sentinel_password=…`), which follows failovers.
   */
  redis: Redis | string;
  /** Prefix of every key and channel. Default `tidings:resumable:`. */
  prefix?: string;
}

/**
 * The ResumableStore on Redis, shared by every instance that names the same Redis and prefix:
 * a reply started on one instance is read, resumed and stopped from any other.
 *
 * Per stream: `<prefix><id>:log` (a Redis Stream, one entry per event), `:meta` (producer,
 * ended, stop request), `:lease` (the producer's lease, a key with PX expiry: when the producer
 * stops renewing, it disappears), `:watch` (someone is reading, with PX expiry), and the pub/sub
 * channel `:events` (`a`: appended, `s`: stop). Retention is key expiry: after the terminal
 * entry, the log and meta expire `retentionMs` later. Pub/sub only wakes readers early: a lost
 * message costs a reader one poll interval, never a hang.
 */
export class RedisResumableStore implements ResumableStore {
  readonly #redis: ScriptedRedis;
  readonly #subscriber: Redis;
  readonly #ownsConnection: boolean;
  readonly #prefix: string;
  readonly #listeners = new Map<string, Set<(message: string) => void>>();
  readonly #lingering = new Map<string, NodeJS.Timeout>();
  readonly #subscribed = new Map<string, Promise<unknown>>();
  /** Channels whose subscription Redis confirmed. */
  readonly #ready = new Set<string>();
  /** Per subscribed channel, the log length the last `a<length>` message announced. */
  readonly #knownLength = new Map<string, number>();
  #closed = false;

  /** @throws BrokerConfigError for a Sentinel URL it cannot read, saying why. */
  constructor(options: RedisResumableStoreOptions) {
    this.#ownsConnection = typeof options.redis === 'string';
    const redis =
      typeof options.redis === 'string' ? openStoreConnection(options.redis) : options.redis;
    this.#prefix = options.prefix ?? 'tidings:resumable:';
    redis.defineCommand('resumableCreate', { numberOfKeys: 2, lua: CREATE });
    redis.defineCommand('resumableAppend', { numberOfKeys: 3, lua: APPEND });
    redis.defineCommand('resumableRenew', { numberOfKeys: 3, lua: RENEW });
    redis.defineCommand('resumableInterrupt', { numberOfKeys: 3, lua: INTERRUPT });
    redis.defineCommand('resumableRead', { numberOfKeys: 2, lua: READ });
    redis.defineCommand('resumableRequestStop', { numberOfKeys: 1, lua: REQUEST_STOP });
    this.#redis = redis as ScriptedRedis;
    this.#subscriber = redis.duplicate({ enableAutoPipelining: false });
    // A subscriber that lost its connection resubscribes on its own (ioredis does); an error
    // event without a listener would crash the process.
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (message.startsWith('a')) this.#knownLength.set(channel, Number(message.slice(1)));
      for (const listener of [...(this.#listeners.get(channel) ?? [])]) listener(message);
    });
  }

  async create(id: string, producer: string, leaseMs: number): Promise<boolean> {
    const k = this.#keys(id);
    return (
      (await this.#redis.resumableCreate(
        k.meta,
        k.lease,
        producer,
        leaseMs,
        leaseMs + ORPHAN_KEEP_MS,
      )) === 1
    );
  }

  async append(
    id: string,
    producer: string,
    seq: number,
    entries: readonly StreamEntry[],
    retentionMs: number,
  ): Promise<AppendResult> {
    checkAppendBatch(id, entries);
    const k = this.#keys(id);
    const fields: string[] = [];
    for (const entry of entries) fields.push(entry.type, entry.data);
    const last = entries[entries.length - 1] as StreamEntry;
    try {
      return await this.#redis.resumableAppend(
        k.meta,
        k.log,
        k.lease,
        producer,
        seq,
        TERMINAL.has(last.type) ? '1' : '0',
        Math.ceil(retentionMs),
        ORPHAN_KEEP_MS,
        k.channel,
        ...fields,
      );
    } catch (error) {
      if (error instanceof Error && error.message.includes('GAP')) {
        throw new RangeError(`Stream ${id}: append at ${seq}, but ${error.message.slice(4)}`);
      }
      throw error;
    }
  }

  async read(id: string, after: number, limit: number): Promise<StreamSlice | undefined> {
    const k = this.#keys(id);
    const reply = await this.#redis.resumableRead(k.meta, k.log, `${after + 2}-0`, limit);
    if (!reply) return undefined;
    const [length, ended, raw] = reply;
    const entries: StoredEntry[] = raw.map(([entryId, fields]) => ({
      seq: Number(entryId.slice(0, entryId.indexOf('-'))) - 1,
      type: fieldOf(fields, 't'),
      data: fieldOf(fields, 'd'),
    }));
    return { entries, length: Number(length), ended: ended === '1' };
  }

  async waitForEntries(
    id: string,
    after: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    if (signal.aborted) return;
    const k = this.#keys(id);
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const onMessage = (message: string) => {
      if (message.startsWith('a') && Number(message.slice(1)) - 1 > after) wake();
    };
    const timer = setTimeout(wake, timeoutMs);
    signal.addEventListener('abort', wake, { once: true });
    const unlisten = this.#listen(k.channel, onMessage);
    try {
      const known = this.#ready.has(k.channel) ? this.#knownLength.get(k.channel) : undefined;
      if (known !== undefined) {
        // Subscribed all along (a reader waiting again): the announcements say how long it is.
        if (known - 1 > after) wake();
      } else {
        // A new subscription: an append between the caller's read and it would not wake us,
        // so look once more now that we listen.
        await this.#subscribed.get(k.channel);
        if (!signal.aborted && (await this.#redis.xlen(k.log)) - 1 > after) wake();
      }
      await woken;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      unlisten();
    }
  }

  async renewLease(id: string, producer: string, leaseMs: number): Promise<boolean> {
    const k = this.#keys(id);
    return (
      (await this.#redis.resumableRenew(
        k.meta,
        k.log,
        k.lease,
        producer,
        leaseMs,
        leaseMs + ORPHAN_KEEP_MS,
      )) === 1
    );
  }

  async interruptIfOrphaned(id: string, reason: string, retentionMs: number): Promise<boolean> {
    const k = this.#keys(id);
    return (
      (await this.#redis.resumableInterrupt(
        k.meta,
        k.log,
        k.lease,
        reason,
        Math.ceil(retentionMs),
        k.channel,
      )) === 1
    );
  }

  async requestStop(id: string): Promise<boolean> {
    const k = this.#keys(id);
    return (await this.#redis.resumableRequestStop(k.meta, k.channel)) === 1;
  }

  async stopRequested(id: string): Promise<boolean> {
    return (await this.#redis.hget(this.#keys(id).meta, 'stop')) === '1';
  }

  onStopRequest(id: string, listener: () => void): () => void {
    return this.#listen(this.#keys(id).channel, (message) => {
      if (message === 's') listener();
    });
  }

  async markWatched(id: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#keys(id).watch, '1', 'PX', Math.ceil(ttlMs));
  }

  async isWatched(id: string): Promise<boolean> {
    return (await this.#redis.exists(this.#keys(id).watch)) === 1;
  }

  /** Closes the subscriber connection, and the command connection when the store opened it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#lingering.values()) clearTimeout(timer);
    this.#lingering.clear();
    this.#subscriber.disconnect();
    if (this.#ownsConnection) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #keys(id: string) {
    const base = this.#prefix + id;
    return {
      meta: `${base}:meta`,
      log: `${base}:log`,
      lease: `${base}:lease`,
      watch: `${base}:watch`,
      channel: `${base}:events`,
    };
  }

  /**
   * One subscription per channel, shared by every listener of this store; it lingers a little
   * after the last one leaves, so a reader waiting again and again does not resubscribe each time.
   */
  #listen(channel: string, listener: (message: string) => void): () => void {
    let listeners = this.#listeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(channel, listeners);
    }
    listeners.add(listener);
    clearTimeout(this.#lingering.get(channel));
    this.#lingering.delete(channel);
    if (!this.#subscribed.has(channel)) {
      this.#subscribed.set(
        channel,
        this.#subscriber.subscribe(channel).catch(() => {}),
      );
    }
    return () => {
      const current = this.#listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      const timer = setTimeout(() => {
        this.#lingering.delete(channel);
        if ((this.#listeners.get(channel)?.size ?? 0) > 0) return;
        this.#listeners.delete(channel);
        this.#subscribed.delete(channel);
        this.#ready.delete(channel);
        this.#knownLength.delete(channel);
        this.#subscriber.unsubscribe(channel).catch(() => {});
      }, SUBSCRIPTION_LINGER_MS);
      timer.unref();
      this.#lingering.set(channel, timer);
    };
  }
}

function fieldOf(fields: string[], name: string): string {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] ?? '';
  return '';
}

/**
 * The store's own connection. Auto-pipelining: the commands of many streams in one event-loop
 * turn go to Redis as one write, which is what lets a thousand concurrent replies share a
 * connection. A Sentinel URL is read as the broker reads it (its broker parameters, such as
 * `key`, mean nothing here and are refused if unknown).
 */
function openStoreConnection(url: string): Redis {
  const options = { maxRetriesPerRequest: 2, enableAutoPipelining: true };
  if (!/^rediss?\+sentinel:/i.test(url)) return new Redis(url, options);
  // No start to fail: it keeps asking the Sentinels, as a redis:// connection keeps retrying.
  return createConnection(parseRedisTransportText(url).connection, {
    ...options,
    sentinelRetryStrategy: (attempt) => Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** attempt),
  });
}
