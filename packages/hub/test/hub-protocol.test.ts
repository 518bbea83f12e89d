import { connect, EventSource, type StreamEvent } from '@tidings/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, subscribePath, subscribeUrl, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';
import { refusalReason } from './refusal.js';

/**
 * Mercure draft-07 end to end, over real HTTP: subscriptions read with @tidings/client and
 * with raw sockets (to see the exact bytes and headers), updates published as forms and JSON.
 */
describe('Mercure draft-07 over HTTP', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({ heartbeatMs: 200 });
  });
  afterAll(() => t.close());

  it('answers a publish with the id as text/plain and delivers the update to a subscriber', async () => {
    const controller = new AbortController();
    let opened!: () => void;
    const open = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const stream = connect(subscribeUrl(t.hubUrl, ['https://example.com/books/1']), {
      signal: controller.signal,
      onopen: () => opened(),
    });
    const received: StreamEvent[] = [];
    const done = (async () => {
      for await (const event of stream) {
        received.push(event);
        if (received.length === 2) controller.abort();
      }
    })();
    await open;

    const first = await t.publish({
      topic: 'https://example.com/books/1',
      data: '{"title":"Hello"}',
    });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/plain/);
    const id = await first.text();
    // "If omitted, the hub MUST generate a valid IRI": urn:uuid with a version 7 UUID.
    expect(id).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const second = await t.publish({
      topic: 'https://example.com/books/1',
      data: 'two',
      id: 'my-id-2',
    });
    expect(await second.text()).toBe('my-id-2');
    await done;

    expect(received).toEqual([
      { type: 'message', data: '{"title":"Hello"}', lastEventId: id },
      { type: 'message', data: 'two', lastEventId: 'my-id-2' },
    ]);
  });

  it('writes type, retry, id and multi-line data as SSE fields, and empty data as an event', async () => {
    const raw = await RawSubscriber.open(t.port, subscribePath(['fields'])).opened();
    expect(raw.status).toBe(200);
    expect(raw.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(raw.headers['cache-control']).toContain('private');
    expect(raw.headers['last-event-id']).toBeUndefined();

    await t.publish({
      topic: 'fields',
      data: 'line 1\nline 2\r\nline 3',
      type: 'book.updated',
      retry: '2500',
      id: 'f-1',
    });
    await t.publish({ topic: 'fields', id: 'f-2' });
    await raw.eventCount(2);
    expect(raw.body).toContain(
      'id: f-1\nevent: book.updated\nretry: 2500\ndata: line 1\ndata: line 2\ndata: line 3\n\n',
    );
    expect(raw.events).toEqual([
      { type: 'book.updated', data: 'line 1\nline 2\nline 3', lastEventId: 'f-1' },
      { type: 'message', data: '', lastEventId: 'f-2' },
    ]);
    expect(raw.retries).toEqual([2500]);
    await raw.close();
  });

  it('sends heartbeat comments on an idle stream', async () => {
    const raw = await RawSubscriber.open(t.port, subscribePath(['quiet'])).opened();
    await raw.until(() => raw.comments.length >= 2, 3000, 'two heartbeats');
    expect(raw.events).toEqual([]);
    await raw.close();
  });

  it('matches exact topics, URI templates, * and alternate topics, each update once', async () => {
    const exact = await RawSubscriber.open(
      t.port,
      subscribePath(['https://example.com/books/7']),
    ).opened();
    const template = await RawSubscriber.open(
      t.port,
      subscribePath(['https://example.com/books/{id}']),
    ).opened();
    const all = await RawSubscriber.open(t.port, subscribePath(['*'])).opened();
    const alternate = await RawSubscriber.open(
      t.port,
      subscribePath(['https://example.com/users/9/books']),
    ).opened();
    // Subscribed to both the canonical and the alternate topic, and with a template too.
    const several = await RawSubscriber.open(
      t.port,
      subscribePath([
        'https://example.com/books/7',
        'https://example.com/users/9/books',
        'https://example.com/{kind}/7',
      ]),
    ).opened();

    await t.publish({
      topic: ['https://example.com/books/7', 'https://example.com/users/9/books'],
      data: 'book 7',
      id: 'b7',
    });
    await t.publish({ topic: 'https://example.com/books/8', data: 'book 8', id: 'b8' });
    await t.publish({ topic: 'https://example.com/authors/1', data: 'author 1', id: 'a1' });

    await all.eventCount(3);
    await template.eventCount(2);
    expect(all.events.map((e) => e.lastEventId)).toEqual(['b7', 'b8', 'a1']);
    expect(template.events.map((e) => e.lastEventId)).toEqual(['b7', 'b8']);
    // Later events on the same connection prove nothing else was coming for the others.
    await t.publish({
      topic: ['https://example.com/books/7', 'https://example.com/users/9/books'],
      data: 'again',
      id: 'b7-2',
    });
    await exact.eventCount(2);
    await alternate.eventCount(2);
    await several.eventCount(2);
    expect(exact.events.map((e) => e.lastEventId)).toEqual(['b7', 'b7-2']);
    expect(alternate.events.map((e) => e.lastEventId)).toEqual(['b7', 'b7-2']);
    expect(several.events.map((e) => e.lastEventId)).toEqual(['b7', 'b7-2']);
    await Promise.all([exact, template, all, alternate, several].map((s) => s.close()));
  });

  it('delivers private updates only to subscribers whose mercure.subscribe matches a topic', async () => {
    const topic = 'https://example.com/books/42';
    const alternate =
      'https://example.com/users/dunglas/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F42';
    const anonymous = await RawSubscriber.open(
      t.port,
      subscribePath(['https://example.com/books/{id}']),
    ).opened();
    const wrongClaim = await RawSubscriber.open(
      t.port,
      subscribePath(['https://example.com/books/{id}']),
      {
        Authorization: `Bearer ${await t.token({ subscribe: ['https://example.com/users/someone-else/{?topic}'] })}`,
      },
    ).opened();
    // The draft's own example: the claim matches the alternate topic, not the canonical one.
    const allowed = await RawSubscriber.open(
      t.port,
      subscribePath(['https://example.com/books/{id}']),
      {
        Authorization: `Bearer ${await t.token({ subscribe: ['https://example.com/users/dunglas/{?topic}'] })}`,
      },
    ).opened();
    const viaQuery = await RawSubscriber.open(
      t.port,
      subscribePath(['https://example.com/books/{id}'], {
        authorization: await t.token({ subscribe: ['*'] }),
      }),
    ).opened();

    expect(
      (await t.publish({ topic: [topic, alternate], data: 'secret', private: 'on', id: 'p1' }))
        .status,
    ).toBe(200);
    await t.publish({ topic, data: 'public', id: 'p2' });

    await allowed.eventCount(2);
    await viaQuery.eventCount(2);
    await anonymous.eventCount(1);
    await wrongClaim.eventCount(1);
    expect(allowed.events.map((e) => e.data)).toEqual(['secret', 'public']);
    expect(viaQuery.events.map((e) => e.data)).toEqual(['secret', 'public']);
    expect(anonymous.events.map((e) => e.data)).toEqual(['public']);
    expect(wrongClaim.events.map((e) => e.data)).toEqual(['public']);
    await Promise.all([anonymous, wrongClaim, allowed, viaQuery].map((s) => s.close()));
  });

  it('resumes from Last-Event-ID (header over lastEventID query) and names the preceding event', async () => {
    for (const id of ['r1', 'r2', 'r3']) await t.publish({ topic: 'resume', data: id, id });

    const byHeader = await RawSubscriber.open(
      t.port,
      subscribePath(['resume'], { lastEventID: 'r2' }),
      {
        'Last-Event-ID': 'r1',
      },
    ).opened();
    await byHeader.eventCount(2);
    // "The value of the `Last-Event-ID` response header MUST be the ID of the event preceding
    // the first one sent to the subscriber".
    expect(byHeader.headers['last-event-id']).toBe('r1');
    expect(byHeader.events.map((e) => e.data)).toEqual(['r2', 'r3']);

    const byQuery = await RawSubscriber.open(
      t.port,
      subscribePath(['resume'], { lastEventID: 'r2' }),
    ).opened();
    await byQuery.eventCount(1);
    expect(byQuery.headers['last-event-id']).toBe('r2');
    expect(byQuery.events.map((e) => e.data)).toEqual(['r3']);

    // Up to date: nothing to replay, and the header names the id asked for.
    const upToDate = await RawSubscriber.open(t.port, subscribePath(['resume']), {
      'Last-Event-ID': 'r3',
    }).opened();
    expect(upToDate.headers['last-event-id']).toBe('r3');

    // "earliest": everything kept; an unknown id: everything kept too, and the header says
    // `earliest` so the client can tell it may have missed updates.
    const earliest = await RawSubscriber.open(
      t.port,
      subscribePath(['resume'], { lastEventID: 'earliest' }),
    ).opened();
    const unknown = await RawSubscriber.open(t.port, subscribePath(['resume']), {
      'Last-Event-ID': 'no-such-id',
    }).opened();
    await earliest.eventCount(3);
    await unknown.eventCount(3);
    expect(earliest.headers['last-event-id']).toBe('earliest');
    expect(unknown.headers['last-event-id']).toBe('earliest');
    expect(unknown.events.map((e) => e.data)).toEqual(['r1', 'r2', 'r3']);

    // Live updates follow the replay on the same connection.
    await t.publish({ topic: 'resume', data: 'r4', id: 'r4' });
    await upToDate.eventCount(1);
    await byQuery.eventCount(2);
    expect(upToDate.events.map((e) => e.data)).toEqual(['r4']);
    expect(byQuery.events.map((e) => e.data)).toEqual(['r3', 'r4']);
    await Promise.all([byHeader, byQuery, upToDate, earliest, unknown].map((s) => s.close()));
  });

  it('resumes from non-ASCII ids sent as UTF-8 header bytes', async () => {
    const id = 'ünïcødé-日本-…';
    await t.publish({ topic: 'utf8-ids', data: 'first', id });
    await t.publish({ topic: 'utf8-ids', data: 'second', id: 'plain' });
    const raw = await RawSubscriber.open(t.port, subscribePath(['utf8-ids']), {
      'Last-Event-ID': id,
    }).opened();
    await raw.eventCount(1);
    expect(raw.events.map((e) => e.data)).toEqual(['second']);
    await raw.close();
  });

  it('replays private updates only to subscribers allowed to see them', async () => {
    await t.publish({ topic: 'vault', data: 'hidden', private: 'on', id: 'v1' });
    await t.publish({ topic: 'vault', data: 'shown', id: 'v2' });
    const anonymous = await RawSubscriber.open(
      t.port,
      subscribePath(['vault'], { lastEventID: 'earliest' }),
    ).opened();
    const allowed = await RawSubscriber.open(
      t.port,
      subscribePath(['vault'], { lastEventID: 'earliest' }),
      {
        Authorization: `Bearer ${await t.token({ subscribe: ['vault'] })}`,
      },
    ).opened();
    await allowed.eventCount(2);
    await anonymous.eventCount(1);
    await t.publish({ topic: 'vault', data: 'after', id: 'v3' });
    await anonymous.eventCount(2);
    expect(anonymous.events.map((e) => e.data)).toEqual(['shown', 'after']);
    expect(allowed.events.slice(0, 2).map((e) => e.data)).toEqual(['hidden', 'shown']);
    await Promise.all([anonymous, allowed].map((s) => s.close()));
  });

  it('accepts a JSON publish body as a convenience', async () => {
    const raw = await RawSubscriber.open(t.port, subscribePath(['json-topic'])).opened();
    const response = await fetch(t.hubUrl, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await t.token({ publish: ['json-*', 'json-topic'] })}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        topic: ['json-topic'],
        data: { title: 'an object' },
        type: 'created',
        id: 'j1',
      }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('j1');
    await raw.eventCount(1);
    expect(raw.events[0]).toEqual({
      type: 'created',
      data: '{"title":"an object"}',
      lastEventId: 'j1',
    });
    await raw.close();
  });

  it('refuses to publish to a topic the token does not allow, naming it', async () => {
    const token = await t.token({ publish: ['https://example.com/books/{id}'] });
    const response = await t.publish(
      { topic: ['https://example.com/books/1', 'https://example.com/admin'], data: 'x' },
      token,
    );
    expect(response.status).toBe(403);
    expect(await refusalReason(response)).toContain('"https://example.com/admin"');
  });

  it('keeps the hub namespace for the hub: publishers cannot forge subscription events', async () => {
    for (const topic of [
      '/.well-known/mercure/subscriptions/x/y',
      'https://evil.example/a/../.well-known/mercure/subscriptions/t/s',
    ]) {
      const response = await t.publish({ topic, data: '{"active":false}' });
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('reserved namespace');
    }
  });

  it('works with the EventSource of @tidings/client', async () => {
    const source = new EventSource(subscribeUrl(t.hubUrl, ['es-topic']));
    const messages: MessageEvent[] = [];
    const opened = new Promise((resolve) => source.addEventListener('open', resolve));
    const got = new Promise<void>((resolve) => {
      source.addEventListener('greeting', (event) => {
        messages.push(event as MessageEvent);
        resolve();
      });
    });
    await opened;
    await t.publish({ topic: 'es-topic', data: 'hi', type: 'greeting', id: 'es-1' });
    await got;
    source.close();
    expect(messages[0]?.data).toBe('hi');
    expect(messages[0]?.lastEventId).toBe('es-1');
  });
});

describe('subscriptions API and subscription events', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({ subscriptions: true });
  });
  afterAll(() => t.close());

  it('publishes private subscription events and lists active subscriptions as JSON-LD', async () => {
    const watcherToken = await t.token({
      subscribe: ['/.well-known/mercure/subscriptions{/topic}{/subscriber}'],
    });
    const watcher = await RawSubscriber.open(
      t.port,
      subscribePath(['/.well-known/mercure/subscriptions{/topic}{/subscriber}']),
      { Authorization: `Bearer ${watcherToken}` },
    ).opened();
    // An anonymous subscriber to everything must not see subscription events (they are private).
    const anonymous = await RawSubscriber.open(t.port, subscribePath(['*'])).opened();

    const joinerToken = await t.token({ payload: { user: 'ada' } });
    const joiner = await RawSubscriber.open(
      t.port,
      subscribePath(['https://example.com/books/{id}']),
      {
        Authorization: `Bearer ${joinerToken}`,
      },
    ).opened();
    // The anonymous subscriber announced itself too: the watcher sees that one and the joiner.
    await watcher.eventCount(2);
    const joined = JSON.parse(watcher.events[1]!.data);
    expect(joined).toMatchObject({
      '@context': 'https://mercure.rocks/',
      type: 'Subscription',
      topic: 'https://example.com/books/{id}',
      active: true,
      payload: { user: 'ada' },
    });
    expect(joined.subscriber).toMatch(/^urn:uuid:/);
    // The id is the topic of the event: selector and subscriber escaped like Go's QueryEscape.
    expect(joined.id).toBe(
      `/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D/${encodeURIComponent(joined.subscriber)}`,
    );

    const list = await fetch(`${t.base}/.well-known/mercure/subscriptions`, {
      headers: { Authorization: `Bearer ${watcherToken}` },
    });
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toMatch(/^application\/ld\+json/);
    const collection = await list.json();
    expect(collection).toMatchObject({
      '@context': 'https://mercure.rocks/',
      id: '/.well-known/mercure/subscriptions',
      type: 'Subscriptions',
    });
    expect(collection.lastEventID).toMatch(/^urn:uuid:/);
    expect(collection.subscriptions.map((s: { topic: string }) => s.topic).sort()).toEqual([
      '*',
      '/.well-known/mercure/subscriptions{/topic}{/subscriber}',
      'https://example.com/books/{id}',
    ]);

    const one = await fetch(`${t.base}${joined.id}`, {
      headers: { Authorization: `Bearer ${watcherToken}` },
    });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({
      id: joined.id,
      active: true,
      lastEventID: collection.lastEventID,
    });

    // Same state, same ETag: a conditional request gets 304.
    const etag = list.headers.get('etag')!;
    const again = await fetch(`${t.base}/.well-known/mercure/subscriptions`, {
      headers: { Authorization: `Bearer ${watcherToken}`, 'If-None-Match': etag },
    });
    expect(again.status).toBe(304);

    const missing = await fetch(`${t.base}/.well-known/mercure/subscriptions/nope/urn%3Auuid%3Ax`, {
      headers: { Authorization: `Bearer ${watcherToken}` },
    });
    expect(missing.status).toBe(404);
    const anonymousList = await fetch(`${t.base}/.well-known/mercure/subscriptions`);
    expect(anonymousList.status).toBe(401);
    const wrongClaim = await fetch(`${t.base}/.well-known/mercure/subscriptions`, {
      headers: {
        Authorization: `Bearer ${await t.token({ subscribe: ['https://example.com/{x}'] })}`,
      },
    });
    expect(wrongClaim.status).toBe(403);

    await joiner.close();
    await watcher.eventCount(3);
    expect(JSON.parse(watcher.events[2]!.data)).toMatchObject({ id: joined.id, active: false });
    expect(anonymous.events).toEqual([]);
    await Promise.all([watcher, anonymous].map((s) => s.close()));
  });
});

describe('access', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub({ auth: { anonymous: false, allowedOrigins: ['https://app.example'] } });
  });
  afterAll(() => t.close());

  it('refuses anonymous subscribers with 401 and a reason when anonymity is off', async () => {
    const response = await fetch(subscribeUrl(t.hubUrl, ['x']));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="mercure"/);
    expect(await response.text()).toMatch(/no token/);
  });

  it('closes a stream when its token expires', async () => {
    // `exp` is in whole seconds: 2 s from now leaves at least 1 s to open the stream, even on
    // a loaded machine.
    const token = await t.token({ subscribe: ['*'], expiresIn: 2 });
    const raw = await RawSubscriber.open(t.port, subscribePath(['x']), {
      Authorization: `Bearer ${token}`,
    }).opened();
    expect(raw.status).toBe(200);
    const openedAt = Date.now();
    await raw.closed(5000);
    expect(Date.now() - openedAt).toBeLessThan(3500);
  });

  it('answers CORS for configured origins, with credentials', async () => {
    const token = await t.token({ subscribe: ['*'] });
    const preflight = await fetch(t.hubUrl, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);

    const raw = await RawSubscriber.open(t.port, subscribePath(['x']), {
      Origin: 'https://app.example',
      Authorization: `Bearer ${token}`,
    }).opened();
    expect(raw.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(raw.headers['access-control-allow-credentials']).toBe('true');
    await raw.close();

    const other = await fetch(`${t.base}/healthz`, { headers: { Origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
