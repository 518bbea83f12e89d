import { RedisResumableStore } from '@tidings/redis';
import { MemoryResumableStore, ResumableStreams } from '@tidings/server';
import { Redis } from 'ioredis';
import { createResumableStreamContext } from 'resumable-stream/ioredis';

/**
 * One way of carrying `replies` concurrent replies of `tokens` each from a producer to one
 * reader per reply. `run` resolves with the characters each reader received, once all are done.
 */
export interface System {
  name: string;
  run(replies: number, tokens: string[], runId: string): Promise<number[]>;
  close(): Promise<void>;
}

/** A source as fast as it can go: the cost measured is the stream's, not a model's. */
async function* tokenSource(tokens: string[]): AsyncGenerator<{ type: string; data: string }> {
  for (const data of tokens) yield { type: 'token', data };
}

/**
 * The tokens as the ReadableStream resumable-stream wants. After the first token it waits for
 * `gate`: resumable-stream answers a resume after the end with nothing, so the resuming reader
 * must be attached before the reply finishes.
 */
function readableOf(
  tokens: string[],
  gate: Promise<void> = Promise.resolve(),
): ReadableStream<string> {
  let i = 0;
  return new ReadableStream<string>({
    async pull(controller) {
      if (i === 1) await gate;
      if (i < tokens.length) controller.enqueue(tokens[i++]!);
      else controller.close();
    },
  });
}

async function readTidings(streams: ResumableStreams, id: string): Promise<number> {
  const reader = await streams.readStream(id);
  if (!reader) throw new Error(`stream ${id} is missing`);
  let chars = 0;
  for await (const event of reader) {
    if (event.event === 'token') chars += event.data.length;
    else if (event.event !== 'done')
      throw new Error(`stream ${id} ended ${event.event}: ${event.data}`);
  }
  return chars;
}

async function readAll(
  stream: ReadableStream<string> | null | undefined,
  id: string,
): Promise<number> {
  if (!stream) throw new Error(`stream ${id} is missing`);
  let chars = 0;
  for await (const chunk of stream as unknown as AsyncIterable<string>) chars += chunk.length;
  return chars;
}

const timing = { leaseMs: 30_000, pollMs: 1_000, graceMs: 30_000, retentionMs: 60_000 };

/** @tidings/server with the memory store: producer and reader in this process. */
export function tidingsMemory(): System {
  return {
    name: 'tidings, memory store',
    async run(replies, tokens, runId) {
      const streams = new ResumableStreams({
        ...timing,
        store: new MemoryResumableStore({ maxStreams: replies }),
      });
      return Promise.all(
        Array.from({ length: replies }, async (_, i) => {
          const id = `${runId}-${i}`;
          await streams.startStream(id, () => tokenSource(tokens));
          return readTidings(streams, id);
        }),
      );
    },
    async close() {},
  };
}

/**
 * @tidings/redis: the producer on one instance, the reader on another (each with connections of
 * its own), every token through Redis.
 */
export function tidingsRedis(url: string): System {
  const producerStore = new RedisResumableStore({ redis: url, prefix: 'bench:' });
  const readerStore = new RedisResumableStore({ redis: url, prefix: 'bench:' });
  const producer = new ResumableStreams({ ...timing, store: producerStore });
  const reader = new ResumableStreams({ ...timing, store: readerStore });
  return {
    name: 'tidings, Redis store (reader on another instance)',
    run(replies, tokens, runId) {
      return Promise.all(
        Array.from({ length: replies }, async (_, i) => {
          const id = `${runId}-${i}`;
          await producer.startStream(id, () => tokenSource(tokens));
          return readTidings(reader, id);
        }),
      );
    },
    async close() {
      await Promise.all([producerStore.close(), readerStore.close()]);
    },
  };
}

/**
 * resumable-stream (Vercel) on the same Redis. `resumed`: the reader resumes on another context
 * (its own connections), so every token goes through Redis pub/sub, as for our Redis row.
 * Otherwise the reader is the stream the producer's call returns, which never leaves the
 * producer's memory.
 */
export function resumableStream(url: string, resumed: boolean): System {
  const connections: Redis[] = [];
  const context = () => {
    const publisher = new Redis(url);
    const subscriber = new Redis(url);
    connections.push(publisher, subscriber);
    return createResumableStreamContext({
      waitUntil: null,
      publisher,
      subscriber,
      keyPrefix: 'rs-bench',
    });
  };
  const producer = context();
  const reader = resumed ? context() : producer;
  return {
    name: resumed
      ? 'resumable-stream, reader resumed on another context'
      : "resumable-stream, the producer's own stream (in memory)",
    run(replies, tokens, runId) {
      return Promise.all(
        Array.from({ length: replies }, async (_, i) => {
          const id = `${runId}-${i}`;
          if (!resumed) {
            return readAll(
              await producer.createNewResumableStream(id, () => readableOf(tokens)),
              id,
            );
          }
          let attached!: () => void;
          const gate = new Promise<void>((resolve) => {
            attached = resolve;
          });
          const own = await producer.createNewResumableStream(id, () => readableOf(tokens, gate));
          const resumedStream = await reader.resumeExistingStream(id);
          attached();
          const [chars] = await Promise.all([
            readAll(resumedStream, id),
            // The producer's own stream is drained too: nobody would leave it unread.
            readAll(own, id),
          ]);
          return chars;
        }),
      );
    },
    async close() {
      for (const connection of connections) connection.disconnect();
    },
  };
}
