import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { requireBinary } from './binaries.js';

/**
 * The system Chromium, or undefined where it is missing (tests skip; under CI=true it throws).
 *
 * @example
 * describe.skipIf(!chromiumPath)('in Chromium', () => { ... });
 */
export const chromiumPath = requireBinary('chromium', 'chromium');

// Headless and quiet: no GPU, no sandbox (containers run as root), and none of the background
// traffic (updates, sync, first-run pages) that would race the page under test.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface ChromiumSession {
  readonly context: BrowserContext;
  /** The tab Chromium opened with the profile. */
  readonly page: Page;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

export interface LaunchChromiumOptions {
  viewport?: { width: number; height: number };
  /** Accept any certificate (a test's self-signed one). */
  ignoreHTTPSErrors?: boolean;
}

/**
 * Launches the system Chromium with a fresh profile directory, so no run sees another's cookies,
 * cache or service workers. Call only where `chromiumPath` is set.
 */
export async function launchChromium(
  options: LaunchChromiumOptions = {},
): Promise<ChromiumSession> {
  if (!chromiumPath)
    throw new Error('chromium not found; install it with: apt-get install -y chromium');
  const userDataDir = await mkdtemp(join(tmpdir(), 'tidings-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_FLAGS,
      ...(options.viewport ? { viewport: options.viewport } : {}),
      ...(options.ignoreHTTPSErrors ? { ignoreHTTPSErrors: true } : {}),
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
