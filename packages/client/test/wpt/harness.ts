/**
 * The little test harness the conformance cases run on: the same code in Node and in
 * Chromium. `createWptEnv` travels to the browser as source text (`String(createWptEnv)`),
 * so it must not use anything defined outside its own body, and neither may the cases.
 */

/** The EventSource constructor under test: ours, or the browser's own. */
export type EventSourceConstructor = {
  new (url: string | URL, init?: { withCredentials?: boolean }): EventSourceLike;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSED: 2;
};

/** What the cases use of an EventSource: the standard interface only. */
export interface EventSourceLike extends EventTarget {
  readonly url: string;
  readonly readyState: number;
  readonly withCredentials: boolean;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSED: 2;
  onopen: ((event: Event) => unknown) | null;
  onmessage: ((event: MessageEvent) => unknown) | null;
  onerror: ((event: Event) => unknown) | null;
  close(): void;
}

export interface WptConfig {
  EventSource: EventSourceConstructor;
  /** The origin of the test server, which is also the page's origin in a browser. */
  origin: string;
  /** The same server on another origin, for CORS cases. */
  crossOrigin: string;
  /** The page's URL in a browser; undefined in Node. */
  pageUrl: string | undefined;
  /** The clock the EventSource waits on (virtual in Node, so retry delays take no time). */
  now(): number;
  /** Makes `unique()` values distinct between runners sharing one server. */
  prefix: string;
}

/** testharness.js's async_test, reduced to what the cases need. */
export interface WptTest {
  /** Wraps a callback: an exception in it fails the test; after the end it does nothing. */
  step<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void;
  /** A callback that fails the test if it is ever called. */
  unreached(what: string): () => void;
  done(): void;
  equal(actual: unknown, expected: unknown, message: string): void;
  ok(value: unknown, message: string): void;
  /** Runs `fn`, expects it to throw an exception named `name`; returns that exception. */
  throws(fn: () => unknown, name: string, message: string): unknown;
  /** Closes the source when the test ends, however it ends. */
  track<S extends EventSourceLike>(source: S): S;
  /** Runs `fn` as a step after `ms` of real time. */
  after(ms: number, fn: () => void): void;
}

export interface WptEnv {
  EventSource: EventSourceConstructor;
  origin: string;
  crossOrigin: string;
  pageUrl: string | undefined;
  /** An absolute URL on the test server. */
  url(path: string, query?: Record<string, string>): string;
  /** The same URL on the other origin. */
  crossUrl(path: string, query?: Record<string, string>): string;
  now(): number;
  unique(): string;
  /** Runs `body` until `t.done()`, a failed step, or `timeoutMs`. */
  test(body: (t: WptTest) => void, timeoutMs?: number): Promise<void>;
}

export function createWptEnv(config: WptConfig): WptEnv {
  let counter = 0;
  const withQuery = (base: string, path: string, query?: Record<string, string>): string => {
    const url = new URL(path, base);
    for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
    return url.href;
  };
  const show = (value: unknown): string =>
    typeof value === 'string' ? JSON.stringify(value) : String(value);

  return {
    EventSource: config.EventSource,
    origin: config.origin,
    crossOrigin: config.crossOrigin,
    pageUrl: config.pageUrl,
    url: (path, query) => withQuery(config.origin, path, query),
    crossUrl: (path, query) => withQuery(config.crossOrigin, path, query),
    now: () => config.now(),
    unique: () => `${config.prefix}-${++counter}-${Date.now()}`,
    test: (body, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        const sources: EventSourceLike[] = [];
        let finished = false;
        const finish = (error?: unknown): void => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          for (const source of sources) source.close();
          if (error === undefined) resolve();
          else reject(error instanceof Error ? error : new Error(String(error)));
        };
        const timer = setTimeout(
          () => finish(new Error(`no verdict within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const fail = (message: string): never => {
          throw new Error(message);
        };
        const t: WptTest = {
          step:
            (fn) =>
            (...args) => {
              if (finished) return;
              try {
                fn(...args);
              } catch (error) {
                finish(error);
              }
            },
          unreached: (what) => t.step(() => fail(`should not have happened: ${what}`)),
          done: () => finish(),
          equal: (actual, expected, message) => {
            if (!Object.is(actual, expected)) {
              fail(`${message}: expected ${show(expected)}, got ${show(actual)}`);
            }
          },
          ok: (value, message) => {
            if (!value) fail(message);
          },
          throws: (fn, name, message) => {
            try {
              fn();
            } catch (error) {
              const actual = (error as { name?: unknown } | null)?.name;
              if (actual !== name) fail(`${message}: expected ${name}, got ${String(actual)}`);
              return error;
            }
            return fail(`${message}: expected ${name} to be thrown`);
          },
          track: (source) => {
            sources.push(source);
            return source;
          },
          after: (ms, fn) => {
            setTimeout(t.step(fn), ms);
          },
        };
        try {
          body(t);
        } catch (error) {
          finish(error);
        }
      }),
  };
}
