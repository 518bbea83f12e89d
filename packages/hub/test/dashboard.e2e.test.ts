/**
 * The dashboard driven in real Chromium: served by a real hub, subscribing with the browser's
 * EventSource, publishing from its form, counters fed by the hub's stats stream.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLogger,
  DASHBOARD_CONTENT_SECURITY_POLICY,
  Hub,
  mintToken,
  renderDashboard,
} from '@tidings/hub';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChromiumSession,
  chromiumPath,
  launchChromium,
} from '../../../test-support/chromium.js';

const SECRET = 'dashboard-e2e-secret-of-at-least-32-bytes';
const OUTPUT = fileURLToPath(new URL('../../../test-output/', import.meta.url));

/** The number a counter shows, or NaN while it shows a dash. */
async function counter(page: Page, name: string): Promise<number> {
  const text = (await page.locator(`#stat-${name}`).textContent()) ?? '';
  return Number(text.replace(/,/g, ''));
}

describe.skipIf(!chromiumPath)('dashboard in Chromium', () => {
  let hub: Hub;
  let base: string;
  let browser: ChromiumSession;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    hub = await Hub.create({
      logger: createLogger({ level: 'silent' }),
      processMetrics: false,
      devPublisherToken: await mintToken({ secret: SECRET, publish: ['*'] }),
      admin: 'public',
      auth: {
        publisherKey: { kind: 'secret', secret: SECRET },
        subscriberKey: { kind: 'secret', secret: SECRET },
        anonymous: true,
        allowedOrigins: [],
      },
    });
    const { port } = await hub.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${port}`;
    browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
    page = browser.page;
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('loads from the hub, labelled and live', async () => {
    const response = await page.goto(`${base}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    await expect(page.title()).resolves.toBe('Tidings hub');
    // Every form control has a label a screen reader announces.
    for (const id of [
      'subscribe-topics',
      'subscribe-token',
      'subscribe-types',
      'subscribe-history',
      'publish-topics',
      'publish-data',
      'publish-type',
      'publish-id',
      'publish-token',
      'publish-private',
    ]) {
      const label = await page.locator(`#${id}`).evaluate((element) => {
        const labels = (element as HTMLInputElement).labels;
        return labels && labels.length > 0 ? (labels[0]!.textContent ?? '') : '';
      });
      expect(label.trim(), id).not.toBe('');
    }
    // The stats stream connects and fills the counters.
    await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => counter(page, 'connections'), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.locator('#stat-uptimeSeconds').textContent()).toMatch(/^\d+ s$/);
    // Development mode: the publish form carries the publisher token.
    expect(await page.locator('#publish-token').inputValue()).toMatch(/^eyJ/);
  });

  it('publishes from the form and shows the event in the subscriber pane; counters move', async () => {
    await page.locator('#subscribe-topics').fill('https://example.com/books/{id}');
    await page.locator('#subscribe-button').click();
    await page.locator('#subscribe-status[data-state="open"]').waitFor({ timeout: 10_000 });
    // This subscription, with its one selector.
    await expect.poll(() => counter(page, 'connections'), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => counter(page, 'subscriptions'), { timeout: 10_000 }).toBe(1);
    const publishedBefore = await counter(page, 'published');

    await page.locator('#publish-topics').fill('https://example.com/books/1');
    await page.locator('#publish-data').fill('{"title": "Dune", "author": "Frank Herbert"}');
    await page.locator('#publish-type').fill('book.created');
    await page.locator('#publish-button').click();
    await page.locator('#publish-result[data-state="ok"]').waitFor({ timeout: 10_000 });
    const result = (await page.locator('#publish-result').textContent()) ?? '';
    const id = result.replace(/^Published as /, '');
    expect(id).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);

    const first = page.locator('#events li').first();
    await expect
      .poll(() => first.locator('pre').textContent(), { timeout: 10_000 })
      .toBe('{"title": "Dune", "author": "Frank Herbert"}');
    await expect(first.locator('.meta').textContent()).resolves.toContain('type book.created');
    await expect(first.locator('.meta').textContent()).resolves.toContain(`id ${id}`);

    // A second update, on another book, without a type: a plain message.
    await page.locator('#publish-topics').fill('https://example.com/books/2');
    await page.locator('#publish-data').fill('line one\nline two <b>not bold</b>');
    await page.locator('#publish-type').fill('');
    await page.locator('#publish-button').click();
    await expect.poll(() => page.locator('#events li').count(), { timeout: 10_000 }).toBe(2);
    await expect(page.locator('#events li').first().locator('pre').textContent()).resolves.toBe(
      'line one\nline two <b>not bold</b>',
    );
    expect(await page.locator('#events b:text("not bold")').count()).toBe(0);
    await expect(page.locator('#received-count').textContent()).resolves.toBe('2 received');

    await expect
      .poll(() => counter(page, 'published'), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(publishedBefore + 2);
    await expect
      .poll(() => counter(page, 'delivered'), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.locator('#spark-line').getAttribute('points')).not.toBe('');

    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(OUTPUT, 'dashboard-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('does not show a private update to this anonymous subscriber, nor an update off its selector', async () => {
    const before = await page.locator('#events li').count();
    await page.locator('#publish-topics').fill('https://example.com/books/3');
    await page.locator('#publish-data').fill('secret');
    await page.locator('#publish-private').check();
    await page.locator('#publish-button').click();
    await page.locator('#publish-result[data-state="ok"]').waitFor();
    await page.locator('#publish-private').uncheck();
    await page.locator('#publish-topics').fill('https://example.com/authors/1');
    await page.locator('#publish-data').fill('elsewhere');
    await page.locator('#publish-button').click();
    // A public update the subscription matches, published last, arrives after the other two would have.
    await page.locator('#publish-topics').fill('https://example.com/books/4');
    await page.locator('#publish-data').fill('public');
    await page.locator('#publish-button').click();
    await expect
      .poll(() => page.locator('#events li').count(), { timeout: 10_000 })
      .toBe(before + 1);
    await expect(page.locator('#events li').first().locator('pre').textContent()).resolves.toBe(
      'public',
    );
  });

  it("shows the hub's reason when a publish is refused", async () => {
    await page.locator('#publish-token').fill('');
    await page.locator('#publish-button').click();
    await page.locator('#publish-result[data-state="error"]').waitFor();
    await expect(page.locator('#publish-result').textContent()).resolves.toMatch(
      /^Refused: 401 .*token/,
    );
  });

  it("shows the hub's reason when a subscription is refused", async () => {
    await page.locator('#subscribe-button').click(); // unsubscribe
    await page.locator('#subscribe-status[data-state="idle"]').waitFor();
    await page.locator('#subscribe-topics').fill('https://example.com/{');
    await page.locator('#subscribe-button').click();
    await page.locator('#subscribe-status[data-state="closed"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#subscribe-status').textContent()).resolves.toMatch(
      /^Refused: 400 .*invalid topic selector/,
    );
  });

  it('ran without script errors', () => {
    // Chromium logs the refused requests above as resource errors; nothing else may appear.
    expect(pageErrors.filter((message) => !/status of (400|401)/.test(message))).toEqual([]);
  });
});

describe.skipIf(!chromiumPath)(
  'dashboard page: escaping and Content-Security-Policy, in Chromium',
  () => {
    let server: Server;
    let base: string;
    let browser: ChromiumSession;
    const hostile = '</script><img src=x onerror="document.title=\'pwned\'">\u2028"\'&<!--';

    beforeAll(async () => {
      const html = renderDashboard({
        hubPath: `/hub?x=${hostile}`,
        statsPath: `/stats?${hostile}`,
        publisherToken: hostile,
        title: `Hub ${hostile}`,
      });
      server = createServer((request, response) => {
        if (request.url === '/') {
          response.writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'content-security-policy': DASHBOARD_CONTENT_SECURITY_POLICY,
          });
          response.end(html);
          return;
        }
        response.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    });

    it('shows injected values as text and runs its script under the strict CSP', async () => {
      const { page } = browser;
      const violations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await page.goto(`${base}/`);
      // The script ran (CSP hashes match): it prefilled the token field, byte for byte.
      await expect.poll(() => page.locator('#publish-token').inputValue()).toBe(hostile);
      expect(await page.title()).toBe(`Hub ${hostile}`);
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('h1').textContent()).toBe(`Hub ${hostile}`);
      expect(violations).toEqual([]);
    });
  },
);
