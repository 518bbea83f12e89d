import type { EventStream } from '@tidings/server';
import { describe, expect, it } from 'vitest';
import { SubscribeGrant } from '../../src/auth/index.js';
import { FanOut } from '../../src/fan-out.js';
import { createLogger } from '../../src/logger.js';
import { HubMetrics } from '../../src/metrics.js';
import { Subscriber } from '../../src/subscriber.js';
import { SelectorSet } from '../../src/topic-selector.js';
import { encodeUpdate, type StoredUpdate } from '../../src/update.js';

const stored = (id: string, sequence: number, epoch = 'e1'): StoredUpdate => {
  const update = { topics: ['t'], data: id, private: false, id };
  return { ...update, epoch, sequence, chunk: encodeUpdate(update), acceptedAt: 0 };
};

/**
 * What a subscriber's stream is handed, in order. `onWrite` runs inside the write, as a
 * close listener or an application callback would run inside a fan-out.
 */
class RecordingStream {
  readonly ids: string[] = [];
  closed = false;
  onWrite: ((id: string) => void) | undefined;
  sendEncoded(chunk: Uint8Array): boolean {
    const id = /^id: (.*)$/m.exec(new TextDecoder().decode(chunk))![1]!;
    this.ids.push(id);
    this.onWrite?.(id);
    return true;
  }
  send(): boolean {
    return true;
  }
  close(): void {
    this.closed = true;
  }
  async drained(): Promise<void> {}
}

function setUp() {
  const fanOut = new FanOut({
    maxQueueBytes: 1024,
    resumeRetryMs: 1000,
    metrics: new HubMetrics({ defaultMetrics: false }),
    logger: createLogger({ level: 'silent' }),
    onHealth: () => {},
  });
  const join = async (stream: RecordingStream) => {
    const subscriber = new Subscriber({
      selectors: new SelectorSet(['t']),
      grant: new SubscribeGrant(undefined),
      payload: undefined,
      address: '127.0.0.1',
    });
    subscriber.stream = stream as unknown as EventStream;
    fanOut.hold(subscriber);
    await fanOut.release(subscriber, subscriber.stream, undefined);
    return subscriber;
  };
  return { fanOut, join };
}

describe('FanOut', () => {
  it('never nests: an update fed during a fan-out goes after it, to everyone, in order', async () => {
    const { fanOut, join } = setUp();
    const first = new RecordingStream();
    const second = new RecordingStream();
    await join(first);
    await join(second);
    first.onWrite = (id) => {
      if (id === 'a') fanOut.update(stored('b', 2));
    };
    fanOut.update(stored('a', 1));
    expect(first.ids).toEqual(['a', 'b']);
    expect(second.ids).toEqual(['a', 'b']);
  });

  it('skips an update fed twice, and tells everyone to resume when the epoch changes', async () => {
    const { fanOut, join } = setUp();
    const stream = new RecordingStream();
    await join(stream);
    fanOut.update(stored('a', 1));
    fanOut.update(stored('a', 1));
    expect(stream.ids).toEqual(['a']);
    fanOut.update(stored('x', 1, 'e2'));
    expect(stream.closed).toBe(true);
  });

  it('drops a subscriber whose held updates outgrow maxQueueBytes while it replays', () => {
    const { fanOut } = setUp();
    const subscriber = new Subscriber({
      selectors: new SelectorSet(['t']),
      grant: new SubscribeGrant(undefined),
      payload: undefined,
      address: '127.0.0.1',
    });
    fanOut.hold(subscriber);
    for (let i = 1; i <= 100; i++) fanOut.update(stored(`u${i}`, i));
    expect(subscriber.closed).toBe(true);
    expect(fanOut.index.has(subscriber)).toBe(false);
  });

  it('releases only the held updates after the join point', async () => {
    const { fanOut } = setUp();
    const stream = new RecordingStream();
    const subscriber = new Subscriber({
      selectors: new SelectorSet(['t']),
      grant: new SubscribeGrant(undefined),
      payload: undefined,
      address: '127.0.0.1',
    });
    subscriber.stream = stream as unknown as EventStream;
    fanOut.hold(subscriber);
    for (let i = 1; i <= 4; i++) fanOut.update(stored(`u${i}`, i));
    await fanOut.release(subscriber, subscriber.stream, { epoch: 'e1', sequence: 2 });
    fanOut.update(stored('u5', 5));
    expect(stream.ids).toEqual(['u3', 'u4', 'u5']);
  });
});
