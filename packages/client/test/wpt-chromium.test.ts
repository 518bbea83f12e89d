import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChromiumSession,
  chromiumPath,
  launchChromium,
} from '../../../test-support/chromium.js';
import { cases, type Runner } from './wpt/cases.js';
import { createWptEnv, type EventSourceConstructor, type WptConfig } from './wpt/harness.js';
import { startWptServer, type WptServer } from './wpt/server.js';

interface PageJob {
  envSource: string;
  caseSource: string;
  params: unknown;
  native: boolean;
  config: Omit<WptConfig, 'EventSource' | 'now' | 'pageUrl'>;
}

/**
 * Runs in the page: rebuilds the harness and the case from their source text, then runs the
 * case against Chromium's own EventSource or ours (loaded by the harness page from dist/).
 */
async function runInPage(job: PageJob): Promise<void> {
  const createEnv = new Function(`return (${job.envSource})`)() as typeof createWptEnv;
  const run = new Function(`return (${job.caseSource})`)() as (
    env: unknown,
    params: unknown,
  ) => Promise<void>;
  const page = globalThis as unknown as {
    EventSource: EventSourceConstructor;
    TidingsEventSource: EventSourceConstructor;
  };
  const env = createEnv({
    ...job.config,
    EventSource: job.native ? page.EventSource : page.TidingsEventSource,
    pageUrl: location.href,
    now: () => performance.now(),
  });
  await run(env, job.params);
}

// The same cases as in Node, in Chromium: first against its own EventSource (proof that
// the cases, and the test server, say what a real browser does), then against ours,
// loaded as the built ESM through an import map.
describe.skipIf(!chromiumPath)('EventSource conformance (web-platform-tests), Chromium', () => {
  let server: WptServer;
  let browser: ChromiumSession;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await startWptServer();
    browser = await launchChromium();
    page = browser.page;
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${server.origin}/harness.html`);
    // The module script that imports our EventSource must have run.
    await page.waitForFunction(() => 'TidingsEventSource' in globalThis, undefined, {
      timeout: 10_000,
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('connect() runs in the page: a POST read with for await, a GET left with break', async () => {
    const result = await page.evaluate(
      async ({ origin }) => {
        const { connect } = (
          globalThis as unknown as { TidingsClient: typeof import('@tidings/client') }
        ).TidingsClient;
        const posted: string[] = [];
        for await (const event of connect(`${origin}/echo-request`, { json: { prompt: 'hi' } })) {
          posted.push(event.data);
        }
        const connection = connect(`${origin}/message`);
        let first = '';
        for await (const event of connection) {
          first = event.data;
          break;
        }
        return { posted, first, readyState: connection.readyState };
      },
      { origin: server.origin },
    );
    expect(result).toEqual({ posted: ['POST {"prompt":"hi"}'], first: 'data', readyState: 2 });
  });

  for (const runner of ['chromium-native', 'chromium-ours'] as const satisfies readonly Runner[]) {
    describe(
      runner === 'chromium-native' ? "Chromium's own EventSource" : 'ours, in Chromium',
      () => {
        for (const [index, entry] of cases.entries()) {
          if (entry.runners !== undefined && !entry.runners.includes(runner)) continue;
          it(`${entry.name} [${entry.source}]`, async () => {
            pageErrors.length = 0;
            await page.evaluate(runInPage, {
              envSource: String(createWptEnv),
              caseSource: String(entry.run),
              params: entry.params ?? {},
              native: runner === 'chromium-native',
              config: {
                origin: server.origin,
                crossOrigin: server.crossOrigin,
                prefix: `${runner}-${index}`,
              },
            });
          });
        }
      },
    );
  }
});
