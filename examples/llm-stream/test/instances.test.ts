import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createParser } from '@tidings/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, redisServerBinary } from '../../../test-support/redis-server.js';
import { localReply } from '../src/local-generator.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
/** The example's defaults: a dead instance's replies end `failed` within leaseMs + pollMs. */
const FAILED_WITHIN_MS = 3_000 + 1_000;

interface Instance {
  url: string;
  process: ChildProcess;
}

/** One instance of the example as its own process, as an operator runs it, on the test's Redis. */
async function startInstance(redisUrl: string): Promise<Instance> {
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisUrl, OPENAI_BASE_URL: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the example exited with ${code}: ${out}`)));
  });
  return { url, process: child };
}

interface Received {
  type: string;
  data: string;
  id: string;
}

/** Reads a /chat stream until it ends, or until `stopAfter` events (then disconnects). */
async function read(url: string, init: RequestInit & { stopAfter?: number } = {}) {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  const events: Received[] = [];
  const times: number[] = [];
  if (response.status !== 200) return { response, events, times };
  const parser = createParser({
    onEvent: (event) => {
      events.push({ type: event.type, data: event.data, id: event.lastEventId });
      times.push(Date.now());
    },
  });
  const reader = response.body!.getReader();
  for (;;) {
    if (init.stopAfter !== undefined && events.length >= init.stopAfter) {
      controller.abort();
      break;
    }
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  return { response, events, times };
}

const text = (events: Received[]) =>
  events
    .filter((e) => e.type === 'token')
    .map((e) => e.data)
    .join('');

describe.skipIf(!redisServerBinary)('two llm-stream instances on one Redis', () => {
  let redis: RedisServer;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    redis = await RedisServer.start();
    [a, b] = await Promise.all([startInstance(redis.url()), startInstance(redis.url())]);
  });
  afterAll(async () => {
    a?.process.kill('SIGKILL');
    b?.process.kill('SIGKILL');
    await redis?.stop();
  });

  it('a reply started on one instance and resumed on the other spells the whole text exactly once', async () => {
    const prompt = 'across instances';
    const first = await read(`${a.url}/chat?prompt=${encodeURIComponent(prompt)}`, {
      stopAfter: 6,
    });
    const rest = await read(`${b.url}/chat`, {
      headers: { 'Last-Event-ID': first.events.at(-1)!.id },
    });
    const all = [...first.events, ...rest.events];
    expect(text(all)).toBe(localReply(prompt));
    expect(all.at(-1)!.type).toBe('done');
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);

    // Late resume, after `done`, on either instance: the rest and the terminal event again...
    const late = await read(`${b.url}/chat?lastEventId=${encodeURIComponent(all[3]!.id)}`);
    expect(late.events).toEqual(all.slice(4));
    // ...and after the terminal event, 204: an EventSource stops reconnecting.
    const after = await fetch(`${a.url}/chat`, { headers: { 'Last-Event-ID': all.at(-1)!.id } });
    expect(after.status).toBe(204);
  });

  it('a stop from the other instance ends the reply with `stopped`, and no token follows', async () => {
    const controller = new AbortController();
    const response = await fetch(`${a.url}/chat?prompt=stop+me`, { signal: controller.signal });
    const events: Received[] = [];
    const parser = createParser({
      onEvent: (event) =>
        events.push({ type: event.type, data: event.data, id: event.lastEventId }),
    });
    const reader = response.body!.getReader();
    while (events.length < 4) parser.feed((await reader.read()).value!);
    const generation = JSON.parse(events[0]!.data).generation;

    const stop = await fetch(`${b.url}/chat/${generation}/stop`, { method: 'POST' });
    expect(stop.status).toBe(202);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
    expect(events.at(-1)!.type).toBe('stopped');
    expect(events.filter((e) => e.type === 'stopped')).toHaveLength(1);
    const stoppedAt = events.length;
    // Read it again from the start on the other instance, a while later: the log is the same,
    // nothing was appended after `stopped`.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const again = await read(`${b.url}/chat?lastEventId=${encodeURIComponent(events[0]!.id)}`);
    expect(again.events.length).toBe(stoppedAt - 1);
    expect(again.events.at(-1)!.type).toBe('stopped');
    expect(localReply('stop me').startsWith(text(events))).toBe(true);
    expect(text(events).length).toBeLessThan(localReply('stop me').length);
  });

  it('SIGKILL the producing instance: a reader elsewhere gets the stored part, then `failed` within the bound', async () => {
    const prompt = 'crash';
    const first = await read(`${a.url}/chat?prompt=${prompt}`, { stopAfter: 5 });
    a.process.kill('SIGKILL');
    const killedAt = Date.now();
    const rest = await read(`${b.url}/chat`, {
      headers: { 'Last-Event-ID': first.events.at(-1)!.id },
    });
    const all = [...first.events, ...rest.events];
    const last = all.at(-1)!;
    expect(last.type).toBe('failed');
    expect(last.data).toMatch(/^Interrupted: the instance producing this stream stopped/);
    expect(localReply(prompt).startsWith(text(all))).toBe(true);
    expect(text(all).length).toBeLessThan(localReply(prompt).length);
    // The bound is documented; slack for a loaded two-core machine.
    expect(rest.times.at(-1)! - killedAt).toBeLessThan(FAILED_WITHIN_MS + 2_000);
    // Every reader gets the same end, on any instance, later too.
    const again = await read(`${b.url}/chat?lastEventId=${encodeURIComponent(all[0]!.id)}`);
    expect(again.events.at(-1)).toEqual(last);
  });
});
