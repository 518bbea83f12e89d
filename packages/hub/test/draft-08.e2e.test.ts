import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChromiumSession,
  chromiumPath,
  launchChromium,
} from '../../../test-support/chromium.js';
import { startHub, type TestHub } from './hub-harness.js';

/**
 * Draft-08 URLs with the browser's own EventSource: `match`, `match_urlpattern` and
 * `last_event_id` in the query, exactly as a page would build them with URLSearchParams.
 */
describe.skipIf(!chromiumPath)('draft-08 with the native EventSource in Chromium', () => {
  let t: TestHub;
  let browser: ChromiumSession;
  beforeAll(async () => {
    t = await startHub();
    browser = await launchChromium();
    // A page of the hub's own origin: the EventSource needs no CORS.
    await browser.page.goto(`${t.base}/healthz`);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('receives URL-pattern and exact matches, resumes after last_event_id, never a private update', async () => {
    await t.publish({ topic: 'https://example.com/books/1', data: 'before', id: 'b-0' });
    await t.publish({ topic: 'https://example.com/books/1', data: 'missed', id: 'b-1' });
    await browser.page.evaluate(() => {
      const url = new URL('/.well-known/mercure', location.href);
      url.searchParams.append('match_urlpattern', 'https://example.com/books/:id');
      url.searchParams.append('match', 'https://example.com/news');
      url.searchParams.append('last_event_id', 'b-0');
      const received: { data: string; id: string }[] = [];
      const source = new EventSource(url);
      source.onmessage = (event) => received.push({ data: event.data, id: event.lastEventId });
      Object.assign(globalThis, { received, source });
    });
    await browser.page.waitForFunction(
      () => (globalThis as unknown as { source: EventSource }).source.readyState === 1,
    );
    await t.publish({ topic: 'https://example.com/books/2', data: 'secret', private: 'on' });
    await t.publish({ topic: 'https://example.com/books/1/chapters', data: 'too deep' });
    await t.publish({ topic: 'https://example.com/books/2', data: 'live', id: 'b-2' });
    await t.publish({ topic: 'https://example.com/news', data: 'news', id: 'n-1' });
    await browser.page.waitForFunction(
      () => (globalThis as unknown as { received: unknown[] }).received.length >= 3,
    );
    const received = await browser.page.evaluate(() => {
      const scope = globalThis as unknown as { received: unknown[]; source: EventSource };
      scope.source.close();
      return scope.received;
    });
    expect(received).toEqual([
      { data: 'missed', id: 'b-1' },
      { data: 'live', id: 'b-2' },
      { data: 'news', id: 'n-1' },
    ]);
  });

  it('fails the connection on a draft-07/draft-08 mix (a 400 the browser does not retry)', async () => {
    const state = await browser.page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const source = new EventSource('/.well-known/mercure?match=a&topic=b');
          source.onerror = () => setTimeout(() => resolve(source.readyState), 100);
        }),
    );
    expect(state).toBe(2); // CLOSED
  });
});
