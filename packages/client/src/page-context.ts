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
 * True in a page or worker when `url` is on another origin: a CORS request, where any header
 * that is not CORS-safelisted would make the browser send a preflight first.
 */
export function isCrossOriginForPage(url: string): boolean {
  const origin = page.location?.origin;
  if (origin === undefined || origin === 'null') return false;
  return new URL(url).origin !== origin;
}
