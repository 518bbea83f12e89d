import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChromiumSession,
  chromiumPath,
  launchChromium,
} from '../../../test-support/chromium.js';
import {
  makeTestCertificate,
  type TestCertificate,
} from '../../../test-support/tls-certificate.js';
import { sleep, startHub, type TestHub } from './hub-harness.js';

const STREAMS = 12;

/** Opens `count` EventSources on the page's own origin; counts opens and live updates. */
function openStreams(browser: ChromiumSession, count: number, topic: string) {
  return browser.page.evaluate(
    ([count, topic]) => {
      const state = { opened: 0, received: [] as string[][], sources: [] as EventSource[] };
      for (let i = 0; i < count; i++) {
        const url = new URL('/.well-known/mercure', location.href);
        url.searchParams.set('topic', topic);
        const source = new EventSource(url);
        const received: string[] = [];
        source.onopen = () => {
          state.opened++;
        };
        source.onmessage = (event) => received.push(event.data);
        state.sources.push(source);
        state.received.push(received);
      }
      Object.assign(globalThis, { state });
    },
    [count, topic] as const,
  );
}

/** How many streams received this update (read in the page). */
function receivedBy(browser: ChromiumSession, data: string): Promise<number> {
  return browser.page.evaluate(
    (data) =>
      (globalThis as unknown as { state: { received: string[][] } }).state.received.filter((list) =>
        list.includes(data),
      ).length,
    data,
  );
}

async function untilConnections(t: TestHub, count: number): Promise<void> {
  while (t.hub.metrics.connections !== count) await sleep(20);
}

/**
 * Browsers open at most 6 HTTP/1.1 connections to an origin, and an EventSource holds one for
 * its life; over HTTP/2 every stream shares one connection.
 */
describe.skipIf(!chromiumPath)(`${STREAMS} EventSources on one origin in Chromium`, () => {
  let certificate: TestCertificate;
  let browser: ChromiumSession;
  beforeAll(async () => {
    certificate = makeTestCertificate();
    browser = await launchChromium({ ignoreHTTPSErrors: true });
  });
  afterAll(async () => {
    await browser?.close();
    certificate?.remove();
  });

  it('over HTTP/2 (TLS): all of them open and receive a live update', async () => {
    const t = await startHub({ listen: { tls: { cert: certificate.cert, key: certificate.key } } });
    try {
      await browser.page.goto(`${t.base}/healthz`);
      const protocol = await browser.page.evaluate(
        () =>
          (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming)
            .nextHopProtocol,
      );
      expect(protocol).toBe('h2');
      await openStreams(browser, STREAMS, 'h2-news');
      await untilConnections(t, STREAMS);
      await t.hub.publish({ topics: ['h2-news'], data: 'live over h2' });
      await browser.page.waitForFunction(
        ([count, data]) =>
          (globalThis as unknown as { state: { received: string[][] } }).state.received.every(
            (list) => list.includes(data),
          ) && count > 0,
        [STREAMS, 'live over h2'] as const,
      );
      expect(await receivedBy(browser, 'live over h2')).toBe(STREAMS);
      // One TLS connection carries them all.
      expect(t.hub.listener!.sessions).toBe(1);
    } finally {
      await browser.page.goto('about:blank');
      await t.close();
    }
  });

  it('over HTTP/1.1: 6 open, the others wait until one of those closes', async () => {
    const t = await startHub();
    try {
      await browser.page.goto(`${t.base}/healthz`);
      await openStreams(browser, STREAMS, 'h1-news');
      await untilConnections(t, 6);
      await browser.page.waitForFunction(
        () => (globalThis as unknown as { state: { opened: number } }).state.opened === 6,
      );
      await t.hub.publish({ topics: ['h1-news'], data: 'live over h1' });
      await browser.page.waitForFunction(
        (data) =>
          (globalThis as unknown as { state: { received: string[][] } }).state.received.filter(
            (list) => list.includes(data),
          ).length === 6,
        'live over h1',
      );
      // The other 6 never reached the hub: the browser holds them back.
      expect(t.hub.metrics.connections).toBe(6);
      expect(
        await browser.page.evaluate(
          () => (globalThis as unknown as { state: { opened: number } }).state.opened,
        ),
      ).toBe(6);
      expect(await receivedBy(browser, 'live over h1')).toBe(6);

      // Closing the open ones frees their connections: the waiting ones go through.
      await browser.page.evaluate(() => {
        const { sources } = (globalThis as unknown as { state: { sources: EventSource[] } }).state;
        for (const source of sources) if (source.readyState === EventSource.OPEN) source.close();
      });
      await browser.page.waitForFunction(
        () => (globalThis as unknown as { state: { opened: number } }).state.opened === 12,
      );
      await untilConnections(t, 6);
      await t.hub.publish({ topics: ['h1-news'], data: 'second' });
      await browser.page.waitForFunction(
        (data) =>
          (globalThis as unknown as { state: { received: string[][] } }).state.received.filter(
            (list) => list.includes(data),
          ).length === 6,
        'second',
      );
    } finally {
      await browser.page.goto('about:blank');
      await t.close();
    }
  });
});
