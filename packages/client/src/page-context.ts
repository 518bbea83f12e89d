// The client runs in pages, workers and Node alike, so it never names `window` or
// `document`: it reads the few page facts it needs through `globalThis`, and each one is
// simply absent in Node.
interface PageGlobals {
  location?: { href?: string; origin?: string };
  document?: { baseURI?: string };
}

const page = globalThis as PageGlobals;

/**
 * The URL relative URLs resolve against: the document's base URL in a page (which honours
 * `<base href>`), the script's location in a worker, none in Node.
 */
export function baseUrl(): string | undefined {
  return page.document?.baseURI ?? page.location?.href;
}

/**
 * True in a page or worker. There, fetch adds `Cache-Control: no-cache` for cache mode
 * no-store by itself, after its CORS checks; setting the header from script instead would
 * make every cross-origin request (and every request redirected to another origin) need a
 * CORS preflight.
 */
export function isBrowsingContext(): boolean {
  return page.location !== undefined;
}
