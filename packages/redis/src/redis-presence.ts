import { randomUUID } from 'node:crypto';
import {
  BrokerUnavailableError,
  type Logger,
  type Presence,
  type PresenceListener,
  type PresenceRecord,
} from '@tidings/hub';
import type { Redis } from 'ioredis';
import { HEARTBEAT_SCRIPT, LIST_SCRIPT } from './presence-scripts.js';
import {
  addressOf,
  connectionOptions,
  createConnection,
  openConnection,
} from './redis-connection.js';
import type { RedisTransportOptions } from './redis-transport-options.js';

/** The commands the scripts add to the connection. */
interface PresenceConnection extends Redis {
  tidingsPresenceBeat(
    nodes: string,
    hash: string,
    node: string,
    ttlMs: number,
    prefix: string,
    mode: 'full' | 'delta',
    sets: number,
    ...fields: string[]
  ): Promise<[number, ...string[]]>;
  tidingsPresenceList(nodes: string, node: string, prefix: string): Promise<string[]>;
}

/** One subscriber of this node: its record, and the JSON written for it. */
interface OwnRecord {
  readonly record: PresenceRecord;
  readonly json: string;
}

/**
 * Presence on Redis: each node keeps its subscribers in a hash of its own
 * (`<key>:presence:node:<uuid>`) and its place in `<key>:presence:nodes`, scored by the Redis
 * time its presence lapses. A heartbeat every `presence_heartbeat` pushes that time
 * `presence_ttl` ahead; a node that stops beating (killed, cut off) drops out of every list
 * once its ttl passed, and the next heartbeat of any live node claims it — atomically, so one
 * node only — and hands its subscribers to that node's hub, which announces them as inactive.
 * A killed node's subscribers therefore leave the subscriptions API within `presence_ttl`,
 * and are removed (and announced) within `presence_ttl + presence_heartbeat`.
 *
 * Writes are batched: the adds and removes of one event-loop turn, or made while a write is
 * in flight, go out in the next heartbeat script call, one at a time. After Redis was
 * unreachable (or this node was claimed while cut off) the node writes all its subscribers
 * again, from its own list, on the first heartbeat that reaches Redis.
 */
export class RedisPresence implements Presence {
  readonly #options: RedisTransportOptions;
  readonly #logger: Logger;
  readonly #node = randomUUID();
  readonly #nodesKey: string;
  readonly #prefix: string;
  readonly #own = new Map<string, OwnRecord>();
  /** Changes not yet written: subscriber id → JSON, or `null` for a removal. */
  #changes = new Map<string, string | null>();
  /** Write everything next time: at start, after a failure, after this node was claimed. */
  #resync = true;
  #connection: PresenceConnection | undefined;
  #listener: PresenceListener | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #again = false;
  #queued = false;
  #unreachable = false;
  #closed = false;

  constructor(options: RedisTransportOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
    this.#nodesKey = `${options.key}:presence:nodes`;
    this.#prefix = `${options.key}:presence:node:`;
  }

  /** This node's id in `<key>:presence:nodes`. */
  get node(): string {
    return this.#node;
  }

  get #address(): string {
    return addressOf(this.#options.connection);
  }

  async start(listener: PresenceListener): Promise<void> {
    if (this.#closed) throw new BrokerUnavailableError('Redis presence is closed');
    if (this.#connection) throw new Error('Redis presence was started already');
    const connection = createConnection(
      this.#options.connection,
      connectionOptions('tidings-presence', this.#options.timeoutMs),
    ) as PresenceConnection;
    connection.defineCommand('tidingsPresenceBeat', { numberOfKeys: 2, lua: HEARTBEAT_SCRIPT });
    connection.defineCommand('tidingsPresenceList', { numberOfKeys: 1, lua: LIST_SCRIPT });
    // Errors reach the callers of commands; the connection itself only reconnects.
    connection.on('error', () => {});
    this.#connection = connection;
    this.#listener = listener;
    try {
      await openConnection(connection, this.#address);
      await this.#write(true);
      // A reconnection may reach another server (a Sentinel failover to a replica that lacks
      // the last writes) without any write failing: write everything again at once.
      connection.on('ready', () => {
        this.#resync = true;
        this.#soon();
      });
    } catch (error) {
      await this.close();
      throw error;
    }
    this.#timer = setInterval(() => this.#kick(), this.#options.presenceHeartbeatMs);
    this.#timer.unref();
  }

  add(record: PresenceRecord): void {
    if (this.#closed) return;
    const json = JSON.stringify(record);
    this.#own.set(record.subscriber, { record, json });
    this.#changes.set(record.subscriber, json);
    this.#soon();
  }

  remove(subscriber: string): void {
    if (this.#closed || !this.#own.delete(subscriber)) return;
    this.#changes.set(subscriber, null);
    this.#soon();
  }

  async list(): Promise<PresenceRecord[]> {
    const connection = this.#connection;
    if (this.#closed || connection === undefined) {
      throw new BrokerUnavailableError('Redis presence is closed');
    }
    if (connection.status !== 'ready') {
      throw new BrokerUnavailableError(
        `Redis at ${this.#address} is unreachable (${connection.status})`,
      );
    }
    let others: string[];
    try {
      others = await connection.tidingsPresenceList(this.#nodesKey, this.#node, this.#prefix);
    } catch (error) {
      throw new BrokerUnavailableError(
        `Redis at ${this.#address} could not list subscribers: ${(error as Error).message}`,
      );
    }
    // This node's own are taken from here, so they are current even before they are written.
    const records = [...this.#own.values()].map((own) => own.record);
    for (const json of others) {
      const record = parseRecord(json);
      if (record) records.push(record);
    }
    return records;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#writing;
    const connection = this.#connection;
    if (connection?.status === 'ready') {
      // Leave at once rather than after the ttl; a failure here only delays it until then.
      await connection
        .multi()
        .del(`${this.#prefix}${this.#node}`)
        .zrem(this.#nodesKey, this.#node)
        .exec()
        .catch(() => undefined);
    }
    connection?.disconnect();
    this.#own.clear();
    this.#changes.clear();
  }

  // ---- writing -------------------------------------------------------------------------

  /** Writes the changes of this event-loop turn together, once the turn is over. */
  #soon(): void {
    if (this.#queued) return;
    this.#queued = true;
    setImmediate(() => {
      this.#queued = false;
      this.#kick();
    });
  }

  /** One write at a time; whatever comes meanwhile goes out in the next. */
  #kick(): void {
    if (this.#closed) return;
    if (this.#writing) {
      this.#again = true;
      return;
    }
    this.#writing = this.#write(false)
      .catch(() => undefined)
      .then(() => {
        this.#writing = undefined;
        if (this.#again) {
          this.#again = false;
          this.#kick();
        }
      });
  }

  /**
   * One heartbeat with the changes since the last. `strict`: a failure rejects (at start);
   * otherwise it is logged, and the next heartbeat writes everything again.
   */
  async #write(strict: boolean): Promise<void> {
    const connection = this.#connection!;
    const full = this.#resync;
    const changes = this.#changes;
    this.#changes = new Map();
    const sets: string[] = [];
    const removals: string[] = [];
    if (full) {
      for (const [subscriber, own] of this.#own) sets.push(subscriber, own.json);
    } else {
      for (const [subscriber, json] of changes) {
        if (json === null) removals.push(subscriber);
        else sets.push(subscriber, json);
      }
    }
    let reply: [number, ...string[]];
    try {
      reply = await connection.tidingsPresenceBeat(
        this.#nodesKey,
        `${this.#prefix}${this.#node}`,
        this.#node,
        this.#options.presenceTtlMs,
        this.#prefix,
        full ? 'full' : 'delta',
        sets.length / 2,
        ...sets,
        ...removals,
      );
    } catch (error) {
      // What was not written is written from this node's own list once Redis answers again.
      this.#resync = true;
      const reason = `Redis at ${this.#address} could not keep this node's presence: ${(error as Error).message}`;
      if (strict) throw new BrokerUnavailableError(reason);
      if (!this.#unreachable) {
        this.#unreachable = true;
        this.#logger.warn(
          { subscribers: this.#own.size },
          `${reason}; its subscribers are written again when Redis answers`,
        );
      }
      return;
    }
    const [applied, ...departed] = reply;
    if (applied === 1) {
      if (full) this.#resync = false;
      if (this.#unreachable) {
        this.#unreachable = false;
        this.#logger.info(
          { subscribers: this.#own.size },
          "Redis answers again: this node's subscribers are back in presence",
        );
      }
    } else {
      // This node lapsed (its event loop stalled, or it was cut off) and may have been
      // claimed: write everything again, now.
      this.#resync = true;
      this.#again = true;
      this.#logger.warn('the presence of this node lapsed: its subscribers are written again');
    }
    if (departed.length > 0) {
      const records = departed.map(parseRecord).filter((record) => record !== undefined);
      if (records.length > 0) this.#listener?.departed(records);
    }
  }
}

/** A record written by a node; anything else in the hash is skipped. */
function parseRecord(json: string): PresenceRecord | undefined {
  try {
    const record = JSON.parse(json) as PresenceRecord;
    if (typeof record?.subscriber !== 'string' || !Array.isArray(record.matchers)) return undefined;
    return record;
  } catch {
    return undefined;
  }
}
