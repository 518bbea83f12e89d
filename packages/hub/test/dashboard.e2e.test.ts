/**
 * The dashboard driven in real Chromium: served by a real hub, subscribing through
 * @tidings/client (served to the page as ES modules), publishing from its form, watching the
 * active subscriptions live, asking the hub's token helper and selector tester, drawing the
 * latency graph from the stats stream — all under its strict Content-Security-Policy.
 *
 * With TIDINGS_SCREENSHOTS=1 it writes docs/images/dashboard-{desktop,phone}.png; otherwise
 * screenshots go to test-output/ and no tracked file changes.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ClientModules,
  createLogger,
  dashboardContentSecurityPolicy,
  Hub,
  MODULES_PATH,
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
const OTHER_SECRET = 'another-secret-the-hub-does-not-know-at-all';
const SCREENSHOTS = process.env.TIDINGS_SCREENSHOTS === '1';
const OUTPUT = fileURLToPath(
  new URL(SCREENSHOTS ? '../../../docs/images/' : '../../../test-output/', import.meta.url),
);

/** The number a counter shows, or NaN while it shows a dash. */
async function counter(page: Page, name: string): Promise<number> {
  const text = (await page.locator(`#stat-${name}`).textContent()) ?? '';
  return Number(text.replace(/,/g, ''));
}

/** Records Content-Security-Policy violations the page reports, before any of its scripts run. */
async function watchViolations(page: Page, violations: string[]): Promise<void> {
  await page.exposeFunction('reportViolation', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as unknown as { reportViolation(text: string): void }).reportViolation(
        `${event.violatedDirective} ${event.blockedURI}`,
      );
    });
  });
  page.on('console', (message) => {
    if (/Content Security Policy|Trusted Type/i.test(message.text()))
      violations.push(message.text());
  });
}

async function publish(page: Page, topic: string, data: string, type = ''): Promise<string> {
  await page.locator('#publish-topics').fill(topic);
  await page.locator('#publish-data').fill(data);
  await page.locator('#publish-type').fill(type);
  await page.locator('#publish-result').evaluate((element) => {
    element.textContent = '';
    (element as HTMLElement).dataset.state = '';
  });
  await page.locator('#publish-button').click();
  await page.locator('#publish-result[data-state="ok"]').waitFor({ timeout: 10_000 });
  return ((await page.locator('#publish-result').textContent()) ?? '').replace(
    /^Published as /,
    '',
  );
}

describe.skipIf(!chromiumPath)('dashboard in Chromium', () => {
  let hub: Hub;
  let base: string;
  let browser: ChromiumSession;
  let page: Page;
  const pageErrors: string[] = [];
  const violations: string[] = [];
  const ids: string[] = [];

  beforeAll(async () => {
    hub = await Hub.create({
      logger: createLogger({ level: 'silent' }),
      processMetrics: false,
      subscriptions: true,
      devSecret: SECRET,
      devPublisherToken: await mintToken({ secret: SECRET, publish: ['*'], subscribe: ['*'] }),
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
    await watchViolations(page, violations);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('loads from the hub, labelled and live, its modules served under a content hash', async () => {
    const response = await page.goto(`${base}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain(
      "require-trusted-types-for 'script'",
    );
    await expect(page.title()).resolves.toBe('Tidings hub');
    for (const id of [
      'hub-url',
      'token',
      'token-header',
      'token-cookie',
      'discover-url',
      'subscribe-topics',
      'last-event-id',
      'publish-topics',
      'publish-data',
      'publish-type',
      'publish-id',
      'publish-private',
      'token-input',
      'mint-publish',
      'selector-input',
      'selector-kind',
      'selector-topic',
    ]) {
      const label = await page.locator(`#${id}`).evaluate((element) => {
        const labels = (element as HTMLInputElement).labels;
        return labels && labels.length > 0 ? (labels[0]!.textContent ?? '') : '';
      });
      expect(label.trim(), id).not.toBe('');
    }
    await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => counter(page, 'connections'), { timeout: 10_000 }).toBe(0);
    expect(await page.locator('#token').inputValue()).toMatch(/^eyJ/);
    expect(await page.locator('#hub-url').inputValue()).toBe(`${base}/.well-known/mercure`);

    const modules = ClientModules.load();
    const client = await fetch(`${base}${modules.importMap().imports['@tidings/client']}`);
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(client.headers.get('cache-control')).toContain('immutable');
    // Another hash (an older page) is not served stale files.
    const stale = await fetch(`${base}${MODULES_PATH}0000000000000000/client/index.js`);
    expect(stale.status).toBe(404);
  });

  it('shows every event type, an update published with type=updated included', async () => {
    await page.locator('#subscribe-topics').fill('https://example.com/books/{id}');
    await page.locator('#subscribe-button').click();
    await page.locator('#subscribe-status[data-state="open"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => counter(page, 'connections'), { timeout: 10_000 }).toBe(1);

    ids.push(await publish(page, 'https://example.com/books/1', '{"title": "Dune"}', 'updated'));
    const first = page.locator('#events li').first();
    await expect
      .poll(() => first.locator('pre').textContent(), { timeout: 10_000 })
      .toBe('{"title": "Dune"}');
    await expect(first.locator('.meta').textContent()).resolves.toContain('type updated');
    await expect(first.locator('.meta').textContent()).resolves.toContain(`id ${ids[0]}`);

    ids.push(await publish(page, 'https://example.com/books/2', 'line one\n<b>not bold</b>'));
    ids.push(await publish(page, 'https://example.com/books/3', 'gone', 'book.deleted'));
    await expect.poll(() => page.locator('#events li').count(), { timeout: 10_000 }).toBe(3);
    const types = await page.locator('#events li .meta').allTextContents();
    expect(types[0]).toContain('type book.deleted');
    expect(types[1]).toContain('type message');
    expect(await page.locator('#events b:text("not bold")').count()).toBe(0);
    // The Last-Event-ID field follows what was received.
    expect(await page.locator('#last-event-id').inputValue()).toBe(ids[2]);
  });

  it('replays from a Last-Event-ID, and the whole history from earliest', async () => {
    await page.locator('#subscribe-button').click(); // unsubscribe
    await page.locator('#subscribe-status[data-state="idle"]').waitFor();
    await page.locator('#clear-events').click();
    await page.locator('#last-event-id').fill(ids[0]!);
    await page.locator('#subscribe-button').click();
    await page.locator('#subscribe-status[data-state="open"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#subscribe-status').textContent()).resolves.toBe(
      `Subscribed, replaying after ${ids[0]}.`,
    );
    await expect.poll(() => page.locator('#events li').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('#events li pre').allTextContents()).toEqual([
      'gone',
      'line one\n<b>not bold</b>',
    ]);

    await page.locator('#subscribe-button').click();
    await page.locator('#clear-events').click();
    await page.locator('#replay-earliest').click();
    expect(await page.locator('#last-event-id').inputValue()).toBe('earliest');
    await page.locator('#subscribe-button').click();
    await expect.poll(() => page.locator('#events li').count(), { timeout: 10_000 }).toBe(3);
  });

  it('lists the active subscriptions and updates them live as another subscriber comes and goes', async () => {
    await page.locator('#watch-button').click();
    await page.locator('#watch-status[data-state="open"]').waitFor({ timeout: 10_000 });
    await expect
      .poll(() => page.locator('#subscriptions').textContent(), { timeout: 10_000 })
      .toContain('https://example.com/books/{id}');
    const before = await page.locator('#subscriptions li').count();

    const controller = new AbortController();
    const topic = 'https://example.com/authors/{name}';
    const second = await fetch(`${base}/.well-known/mercure?topic=${encodeURIComponent(topic)}`, {
      signal: controller.signal,
    });
    expect(second.status).toBe(200);
    await expect
      .poll(() => page.locator('#subscriptions li').count(), { timeout: 10_000 })
      .toBe(before + 1);
    expect(await page.locator('#subscriptions').textContent()).toContain(topic);
    controller.abort();
    await expect
      .poll(() => page.locator('#subscriptions li').count(), { timeout: 10_000 })
      .toBe(before);
  });

  it('discovers the hub from the Link header of an application resource on another origin', async () => {
    // An application announcing its hub the Mercure way, with CORS letting the page read Link
    // on /books/1 and not on /hidden.
    const app = createServer((request, response) => {
      response.writeHead(200, {
        'content-type': 'application/json',
        'access-control-allow-origin': '*',
        ...(request.url === '/books/1' ? { 'access-control-expose-headers': 'Link' } : {}),
        link: `<${base}/.well-known/mercure>; rel="mercure", <http://app.example/books/1>; rel="self"`,
      });
      response.end('{}');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const appBase = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    try {
      await page.locator('#discover-url').fill(`${appBase}/books/1`);
      await page.locator('#discover-form button').click();
      await page.locator('#discover-status[data-state="ok"]').waitFor({ timeout: 10_000 });
      await expect(page.locator('#discover-status').textContent()).resolves.toBe(
        `200: the hub is ${base}/.well-known/mercure`,
      );
      expect(await page.locator('#discovered li').allTextContents()).toEqual([
        `<${base}/.well-known/mercure>; rel="mercure"`,
        '<http://app.example/books/1>; rel="self"',
      ]);
      await page.locator('#discover-url').fill(`${appBase}/hidden`);
      await page.locator('#discover-form button').click();
      await page.locator('#discover-status[data-state="error"]').waitFor({ timeout: 10_000 });
      await expect(page.locator('#discover-status').textContent()).resolves.toMatch(
        /^200: no Link rel="mercure" header .*Access-Control-Expose-Headers/,
      );
      expect(await page.locator('#discovered li').count()).toBe(0);
    } finally {
      await new Promise<void>((resolve) => app.close(() => resolve()));
    }
  });

  it('mints a token, explains it, and says why a foreign or expired one is refused', async () => {
    await page.locator('#mint-publish').fill('https://example.com/books/{id}');
    await page.locator('#mint-subscribe').fill('');
    await page.locator('#mint-button').click();
    await expect.poll(() => page.locator('#token-input').inputValue()).toMatch(/^eyJ/);
    await page.locator('#token-button').click();
    await page.locator('#token-publisher[data-state="ok"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#token-publisher').textContent()).resolves.toContain(
      'may publish to topics matching "https://example.com/books/{id}"',
    );
    await expect(page.locator('#token-summary').textContent()).resolves.toMatch(
      /^alg HS256 · expires \d{4}-/,
    );
    await expect(page.locator('#token-claims').textContent()).resolves.toContain('"mercure"');

    await page
      .locator('#token-input')
      .fill(await mintToken({ secret: OTHER_SECRET, publish: ['*'] }));
    await page.locator('#token-button').click();
    await page.locator('#token-publisher[data-state="error"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#token-publisher').textContent()).resolves.toMatch(
      /refused — .*signature/,
    );

    await page
      .locator('#token-input')
      .fill(await mintToken({ secret: SECRET, publish: ['*'], expiresIn: -60 }));
    await page.locator('#token-button').click();
    await page.locator('#token-summary[data-state="error"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#token-subscriber').textContent()).resolves.toMatch(
      /refused — .*expired/,
    );

    await page.locator('#token-input').fill('not a token');
    await page.locator('#token-button').click();
    await expect.poll(() => page.locator('#token-summary').textContent()).toMatch(/^not a JWT/);
  });

  it("tests selectors with the hub's matcher and says why one does not match", async () => {
    await page.locator('#selector-input').fill('https://example.com/books/{id}');
    await page.locator('#selector-topic').fill('https://example.com/books/1');
    await page.locator('#selector-button').click();
    await page.locator('#selector-result[data-state="ok"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#selector-result').textContent()).resolves.toMatch(
      /^Matches \(uri-template\)/,
    );

    await page.locator('#selector-topic').fill('https://example.com/books/1/reviews');
    await page.locator('#selector-button').click();
    await page.locator('#selector-result[data-state="error"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#selector-result').textContent()).resolves.toContain('{+name}');

    await page.locator('#selector-kind').selectOption('urlpattern');
    await page.locator('#selector-input').fill('/books/:id');
    await page.locator('#selector-topic').fill(`${base}/books/7`);
    await page.locator('#selector-button').click();
    await page.locator('#selector-result[data-state="ok"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#selector-result').textContent()).resolves.toMatch(
      /^Matches \(urlpattern\)/,
    );
  });

  it('draws the latency graph from the stats stream after publishes', async () => {
    await publish(page, 'https://example.com/books/6', 'for the graph');
    await expect
      .poll(() => page.locator('#latency-p99').getAttribute('points'), { timeout: 10_000 })
      .toMatch(/^\d/);
    expect(await page.locator('#latency-p50').getAttribute('points')).toMatch(/^\d/);
    await expect
      .poll(() => page.locator('#latency-text').textContent(), { timeout: 10_000 })
      .toMatch(/^p50 ≤ .* ms · p99 ≤ .* ms · \d+ updates in the last 10 s$/);
  });

  it('sends the token as the mercureAuthorization cookie when the settings say so', async () => {
    await page.locator('#token-cookie').check();
    const request = page.waitForRequest(
      (r) => r.method() === 'POST' && r.url().includes('/.well-known/mercure'),
    );
    await publish(page, 'https://example.com/books/5', 'by cookie');
    const headers = await (await request).allHeaders();
    expect(headers.authorization).toBeUndefined();
    expect(headers.cookie).toMatch(/^mercureAuthorization=eyJ/);
    await page.locator('#token-header').check();
    await browser.context.clearCookies();
  });

  it("shows the hub's reasons for a refused publish and a refused subscription", async () => {
    await page.locator('#token').fill('');
    await page.locator('#publish-button').click();
    await page.locator('#publish-result[data-state="error"]').waitFor();
    await expect(page.locator('#publish-result').textContent()).resolves.toMatch(
      /^Refused: 401 .*token/,
    );
    await page.locator('#subscribe-button').click(); // unsubscribe
    await page.locator('#last-event-id').fill('');
    await page.locator('#subscribe-topics').fill('https://example.com/{');
    await page.locator('#subscribe-button').click();
    await page.locator('#subscribe-status[data-state="closed"]').waitFor({ timeout: 10_000 });
    await expect(page.locator('#subscribe-status').textContent()).resolves.toMatch(
      /^Refused: 400 .*invalid topic selector/,
    );
  });

  it('looks right at desktop and phone widths (screenshots)', async () => {
    await page.locator('#token').fill(hub.options.devPublisherToken ?? '');
    await page.locator('#subscribe-topics').fill('https://example.com/books/{id}');
    await page.locator('#last-event-id').fill('earliest');
    await page.locator('#clear-events').click();
    await page.locator('#subscribe-button').click();
    await page.locator('#subscribe-status[data-state="open"]').waitFor({ timeout: 10_000 });
    // Each panel showing what it is for: an accepted publish, a token explained, a near miss.
    await publish(page, 'https://example.com/books/1', '{"title": "Dune", "stock": 3}', 'updated');
    await page.locator('#token-input').fill(hub.options.devPublisherToken ?? '');
    await page.locator('#token-button').click();
    await page.locator('#token-publisher[data-state="ok"]').waitFor({ timeout: 10_000 });
    await page.locator('#selector-kind').selectOption('selector');
    await page.locator('#selector-input').fill('https://example.com/books/{id}');
    await page.locator('#selector-topic').fill('https://example.com/books/1/reviews');
    await page.locator('#selector-button').click();
    await page.locator('#selector-result[data-state="error"]').waitFor({ timeout: 10_000 });
    await mkdir(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    // Nothing is wider than the phone's screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    await page.screenshot({ path: join(OUTPUT, 'dashboard-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('ran without script errors or Content-Security-Policy violations', () => {
    expect(violations).toEqual([]);
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
      const modules = ClientModules.load();
      server = createServer((request, response) => {
        const path = request.url ?? '/';
        if (path === '/') {
          response.writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'content-security-policy': dashboardContentSecurityPolicy(),
          });
          response.end(html);
          return;
        }
        const module = path.startsWith(MODULES_PATH) ? modules.find(path) : undefined;
        if (module !== undefined) {
          response.writeHead(200, { 'content-type': 'text/javascript' }).end(module);
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
      await watchViolations(page, violations);
      await page.goto(`${base}/`);
      // The module ran (CSP hashes and import map match): it prefilled the token, byte for byte.
      await expect.poll(() => page.locator('#token').inputValue()).toBe(hostile);
      expect(await page.title()).toBe(`Hub ${hostile}`);
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('h1').textContent()).toBe(`Hub ${hostile}`);
      expect(violations).toEqual([]);
    });
  },
);
