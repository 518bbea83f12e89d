import { mintAccessToken } from '@tidings/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECRET, startHub, type TestHub } from './hub-harness.js';
import { RawSubscriber } from './raw-subscriber.js';
import { refusalReason } from './refusal.js';

const ISSUER = 'https://app.example';
const RAW_HUB_URL = 'http://127.0.0.1/.well-known/mercure';

/** Draft-08 "Active Subscriptions": subscription events and the subscriptions API. */
describe('draft-08 active subscriptions', () => {
  let t: TestHub;
  const access = (options: Partial<Parameters<typeof mintAccessToken>[0]>) =>
    mintAccessToken({
      secret: SECRET,
      issuer: ISSUER,
      audience: [t.hubUrl, RAW_HUB_URL],
      ...options,
    });
  const subscriptionsGrant = {
    match: '/.well-known/mercure/subscriptions/*',
    match_type: 'urlpattern' as const,
  };

  beforeAll(async () => {
    t = await startHub({ subscriptions: true, auth: { issuer: ISSUER } });
  });
  afterAll(() => t.close());

  it('announces a subscription as an `event: mercure` with the draft-08 document, and serves it', async () => {
    const observerToken = await access({ subscribe: [subscriptionsGrant] });
    const observer = await RawSubscriber.open(
      t.port,
      `/.well-known/mercure?${new URLSearchParams({ match_urlpattern: '/.well-known/mercure/subscriptions/*' })}`,
      { Authorization: `Bearer ${observerToken}` },
    ).opened();
    expect(observer.status).toBe(200);

    const memberToken = await access({
      subscribe: ['https://example.com/x'],
      payload: { team: 'a' },
    });
    const member = await RawSubscriber.open(
      t.port,
      `/.well-known/mercure?${new URLSearchParams({ match_urlpattern: 'https://example.com/books/:id' })}`,
      { Authorization: `Bearer ${memberToken}` },
    ).opened();
    const [event] = await observer.eventCount(1);
    expect(event?.type).toBe('mercure');
    const document = JSON.parse(event!.data) as Record<string, unknown>;
    const subscriber = document.subscriber as string;
    expect(subscriber).toMatch(/^urn:uuid:/);
    expect(document).toEqual({
      id: `/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2Fbooks%2F%3Aid/${encodeURIComponent(subscriber)}`,
      type: 'subscription',
      match_type: 'urlpattern',
      match: 'https://example.com/books/:id',
      subscriber,
      active: true,
      payload: { team: 'a' },
    });

    const apiToken = await access({ subscribe: [subscriptionsGrant] });
    const one = await fetch(`${t.base}${document.id as string}`, {
      headers: { Authorization: `Bearer ${apiToken}` },
    });
    expect(one.status, await one.clone().text()).toBe(200);
    expect(one.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(one.headers.get('link')).toMatch(
      new RegExp(
        `^<${t.hubUrl}>; rel="mercure"; last-event-id="urn:uuid:[^"]+"; type="mercure"; content-type="application/json"$`,
      ),
    );
    expect(await one.json()).toEqual(document);

    const collection = await fetch(
      `${t.base}/.well-known/mercure/subscriptions/urlpattern/${encodeURIComponent('https://example.com/books/:id')}`,
      { headers: { Authorization: `Bearer ${apiToken}` } },
    );
    expect(await collection.json()).toEqual({
      id: '/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2Fbooks%2F%3Aid',
      type: 'subscriptions',
      subscriptions: [document],
    });

    await member.close();
    const [, left] = await observer.eventCount(2);
    expect(left?.type).toBe('mercure');
    expect(JSON.parse(left!.data)).toMatchObject({ subscriber, active: false });
    const gone = await fetch(`${t.base}${document.id as string}`, {
      headers: { Authorization: `Bearer ${apiToken}` },
    });
    expect(gone.status).toBe(404);
    await observer.close();
  });

  it('refuses the API without a grant on the path: 403 insufficient_scope, 401 without a token', async () => {
    const token = await access({ subscribe: ['https://example.com/x'] });
    const path = '/.well-known/mercure/subscriptions/exact/x';
    const denied = await fetch(`${t.base}${path}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect(await refusalReason(denied)).toMatch(
      /no "subscribe" authorization detail of the token matches/,
    );
    const anonymous = await fetch(`${t.base}${path}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="mercure", resource_metadata=/,
    );
  });

  it('refuses to publish an event of type mercure, so no one forges a subscription event', async () => {
    const publisher = await access({ publish: ['*'] });
    const response = await fetch(t.hubUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${publisher}` },
      body: new URLSearchParams({ topic: 'x', type: 'mercure', data: '{}' }),
    });
    expect(response.status).toBe(400);
  });
});
