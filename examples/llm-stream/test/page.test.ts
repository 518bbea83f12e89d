import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary } from '../../../test-support/binaries.js';
import { localGenerator, localReply } from '../src/local-generator.js';
import { createLlmServer } from '../src/server.js';

const chromiumPath = requireBinary('chromium', 'chromium');

describe.skipIf(!chromiumPath)('llm-stream page in Chromium', () => {
  let browser: Browser;
  const server = createLlmServer({ source: localGenerator({ delayMs: 15 }) });
  let url: string;

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    server.closeAllConnections();
    server.close();
  });

  it('renders tokens as they arrive and, reloaded halfway, finishes the same reply', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url);
    const prompt = await page.inputValue('#prompt');
    await page.click('button[type=submit]');

    // Part of the reply is on the page while the rest is still being generated.
    await page.waitForFunction(
      () => (document.getElementById('reply')?.textContent ?? '').length > 40,
    );
    const partial = (await page.textContent('#reply')) ?? '';
    expect(await page.getAttribute('#reply', 'class')).toBe('writing');
    expect(localReply(prompt).startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(localReply(prompt).length);

    // A reload resumes from the last event seen: no gap, no repetition, no second generation.
    await page.reload();
    await page.waitForFunction(
      () => document.getElementById('status')?.textContent === 'done',
      null,
      {
        timeout: 20_000,
      },
    );
    expect(await page.textContent('#reply')).toBe(localReply(prompt));
    expect(await page.textContent('#source')).toContain('not a language model');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Stop stops the reply: the page says stopped and no more tokens arrive', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(url);
    const prompt = await page.inputValue('#prompt');
    await page.click('button[type=submit]');
    await page.waitForFunction(
      () => (document.getElementById('reply')?.textContent ?? '').length > 20,
    );
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'stopped');
    const stoppedAt = (await page.textContent('#reply')) ?? '';
    expect(localReply(prompt).startsWith(stoppedAt)).toBe(true);
    expect(stoppedAt.length).toBeLessThan(localReply(prompt).length);
    // Stopped is final: nothing arrives after it, and a reload has nothing to resume.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await page.textContent('#reply')).toBe(stoppedAt);
    await page.reload();
    expect(await page.textContent('#reply')).toBe('');
    expect(errors).toEqual([]);
    await page.close();
  });
});
