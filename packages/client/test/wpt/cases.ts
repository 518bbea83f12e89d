/**
 * EventSource conformance cases, as data: one list, run by three runners (Node with our
 * EventSource, Chromium's own EventSource, and ours bundled into Chromium). Each case ports
 * one web-platform-tests `eventsource/` test (see LICENSE-wpt.md); its `source` field is the
 * provenance line. Cases marked `tidings` check a sentence of the HTML standard that WPT
 * does not test on its own.
 *
 * Every `run` function is sent to the browser as source text: it may use only its two
 * arguments and the standard globals, never an import or a variable of this module.
 */
import type { WptEnv } from './harness.js';

export type Runner = 'node' | 'chromium-native' | 'chromium-ours';

export interface WptCase {
  name: string;
  /** Provenance: the WPT file this case ports (or `tidings: <spec rule>`). */
  source: string;
  /** Runners this case applies to; default all. `why` says why the others cannot run it. */
  runners?: readonly Runner[];
  why?: string;
  params?: Record<string, string | number | boolean>;
  /** Real-time budget; cases that wait out a `retry:` in a browser need more. */
  timeoutMs?: number;
  run: (env: WptEnv, params: never) => Promise<void>;
}

const WPT = 'web-platform-tests eventsource/';
const BROWSERS = ['chromium-native', 'chromium-ours'] as const;
const RELATIVE_URLS_WHY = 'relative URLs need a page to resolve against; Node has none';
const CORS_WHY = 'CORS is enforced by browsers; Node has no same-origin policy';

function define<P extends Record<string, string | number | boolean>>(
  entry: Omit<WptCase, 'run' | 'params'> & {
    params?: P;
    run: (env: WptEnv, params: P) => Promise<void>;
  },
): WptCase {
  return entry as WptCase;
}

// ---- failing the connection --------------------------------------------------------------

const statusError = (env: WptEnv, p: { status: string }) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url('/status-error', { status: p.status })));
    source.onmessage = t.unreached('message event');
    source.onopen = t.unreached('open event');
    source.onerror = t.step(() => {
      t.equal(source.readyState, source.CLOSED, 'readyState');
      // Failing is final: nothing may follow, not even another error.
      source.onerror = t.unreached('a second error event');
      t.after(50, () => t.done());
    });
  });

const mimeFails = (env: WptEnv, p: { mime: string }) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url('/message', { mime: p.mime })));
    source.onmessage = t.unreached('message event');
    source.onerror = t.step((event: Event) => {
      t.equal(source.readyState, source.CLOSED, 'readyState');
      // "fails the connection" fires a simple event, not a MessageEvent.
      t.ok(!Object.hasOwn(event, 'data'), 'the error event has no own data');
      t.equal(event.bubbles, false, 'bubbles');
      t.equal(event.cancelable, false, 'cancelable');
      t.done();
    });
  });

const mimeTrailingSemicolon = (env: WptEnv) =>
  env.test((t) => {
    const source = t.track(
      new env.EventSource(env.url('/message', { mime: 'text/event-stream;' })),
    );
    source.onopen = t.step(() => {
      t.equal(source.readyState, source.OPEN, 'readyState');
      t.done();
    });
    source.onerror = t.unreached('error event');
  });

const nonHttpUrl = (env: WptEnv, p: { url: string }) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(p.url));
    source.onerror = t.step((event: Event) => {
      t.equal(source.readyState, source.CLOSED, 'readyState');
      t.ok(!Object.hasOwn(event, 'data'), 'the error event has no own data');
      t.done();
    });
  });

// ---- the request ------------------------------------------------------------------------

const echoesHeader = (env: WptEnv, p: { path: string; expected: string }) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url(p.path)));
    source.onmessage = t.step((event: MessageEvent) => {
      t.equal(event.data, p.expected, 'header the server saw');
      t.done();
    });
  });

const cacheControlTwice = (env: WptEnv, p: { cross: boolean }) =>
  env.test((t) => {
    const url = p.cross
      ? env.crossUrl('/cors', { run: 'cache-control' })
      : env.url('/cache-control');
    // Twice, to check the request stays uncached the second time too.
    const open = (remaining: number): void => {
      const source = t.track(new env.EventSource(url));
      source.onmessage = t.step((event: MessageEvent) => {
        t.equal(event.data, 'no-cache', 'Cache-Control the server saw');
        source.close();
        if (remaining > 1) open(remaining - 1);
        else t.done();
      });
    };
    open(2);
  });

const redirect = (env: WptEnv, p: { status: string }) =>
  env.test((t) => {
    const url = env.url('/redirect', { status: p.status, location: '/message' });
    const source = t.track(new env.EventSource(url));
    source.onopen = t.step(() => {
      t.equal(source.readyState, source.OPEN, 'readyState');
      t.done();
    });
    source.onerror = t.unreached('error event');
  });

// ---- last event ID ----------------------------------------------------------------------

const lastEventIdEcho = (env: WptEnv, p: { messages: number }) =>
  env.test((t) => {
    // The handler sends `id: …` (U+2026) and `retry: 200`; on reconnection it echoes the
    // Last-Event-ID header it got as the data.
    const source = t.track(new env.EventSource(env.url('/last-event-id')));
    let count = 0;
    source.onmessage = t.step((event: MessageEvent) => {
      count++;
      if (count === 1) {
        t.equal(event.data, 'hello', 'first data');
      } else {
        t.equal(event.data, '…', 'Last-Event-ID sent on reconnection');
      }
      t.equal(event.lastEventId, '…', 'lastEventId');
      if (count === p.messages) t.done();
    });
  }, 5000);

const idWithNul = (env: WptEnv, p: { idvalue: string }) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url('/last-event-id', { idvalue: p.idvalue })));
    let seenHello = false;
    source.onmessage = t.step((event: MessageEvent) => {
      // The id field is ignored, so no Last-Event-ID is sent and "hello" comes again.
      t.equal(event.data, 'hello', 'data');
      t.equal(event.lastEventId, '', 'lastEventId');
      if (seenHello) t.done();
      seenHello = true;
    });
  });

const idPersistence = (env: WptEnv, p: { type: string; expected: string }) =>
  env.test((t) => {
    const expected = p.expected.split(',');
    const source = t.track(new env.EventSource(env.url('/last-event-id2', { type: p.type })));
    let count = 0;
    source.onmessage = t.step((event: MessageEvent) => {
      t.equal(event.lastEventId, expected[count], `lastEventId of message ${count + 1}`);
      count++;
      if (count === expected.length) t.done();
    });
  });

// ---- reconnection -----------------------------------------------------------------------

const retryTime = (env: WptEnv, p: { message: string; expectedMs: number }) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url('/message', { message: p.message })));
    let openedAt: number | undefined;
    source.onopen = t.step(() => {
      if (openedAt === undefined) {
        openedAt = env.now();
        return;
      }
      const waited = env.now() - openedAt;
      // WPT allows 10 % either way. The lower bound is kept: it is what tells 2000 from a
      // misread 1024 (octal) or 1000 (the bogus field). Above, a busy machine may add more
      // than 10 %; anything under 3000 ms still shows retry: was used (3 s is the default).
      t.ok(
        waited >= p.expectedMs * 0.9 && waited < p.expectedMs * 1.4,
        `reconnected after ${waited} ms, expected ${p.expectedMs} ms`,
      );
      t.done();
    });
  }, 6000);

const closeStates = (env: WptEnv) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url('/message')));
    t.equal(source.readyState, source.CONNECTING, 'readyState right after construction');
    source.onopen = t.step(() => {
      t.equal(source.readyState, source.OPEN, 'readyState in onopen');
      source.close();
      t.equal(source.readyState, source.CLOSED, 'readyState right after close()');
      t.done();
    });
  });

const reconnectFailSequence = (env: WptEnv) =>
  env.test((t) => {
    // The handler answers "opened", then "reconnected", then 204.
    const source = t.track(new env.EventSource(env.url('/reconnect-fail', { id: env.unique() })));
    let count = 0;
    let reconnected = false;
    source.onerror = t.step((event: Event) => {
      t.equal(event.type, 'error', 'event type');
      if (count === 1) {
        t.equal(source.readyState, source.CONNECTING, 'readyState while reconnecting');
        reconnected = true;
      } else if (count === 2) {
        t.equal(source.readyState, source.CONNECTING, 'readyState while reconnecting again');
        count++;
      } else if (count === 3) {
        t.equal(source.readyState, source.CLOSED, 'readyState after the 204');
        // Time for stray events to show up.
        t.after(100, () => t.done());
      } else {
        throw new Error(`error event with message count ${count}`);
      }
    });
    source.onmessage = t.step((event: MessageEvent) => {
      if (count === 0) {
        t.ok(!reconnected, 'no error event before the first message');
        t.equal(event.data, 'opened', 'first data');
      } else if (count === 1) {
        t.ok(reconnected, 'reconnected before the second message');
        t.equal(event.data, 'reconnected', 'second data');
      } else {
        throw new Error(`message number ${count}`);
      }
      count++;
    });
  });

const reconnectAfterStatus = (env: WptEnv) =>
  env.test((t) => {
    const url = env.url('/status-reconnect', { status: '200', id: env.unique() });
    const source = t.track(new env.EventSource(url));
    source.onmessage = t.step((event: MessageEvent) => {
      t.equal(event.data, 'data', 'data after reconnecting');
      t.done();
    });
  });

const reconnectEvents = (env: WptEnv) =>
  env.test((t) => {
    const url = env.url('/status-reconnect', { status: '200', ok_first: '', id: env.unique() });
    const source = t.track(new env.EventSource(url));
    let opened = false;
    let reconnected = false;
    source.onerror = t.step((event: Event) => {
      t.equal(event.type, 'error', 'event type');
      t.equal(source.readyState, source.CONNECTING, 'readyState');
      t.ok(opened, 'the connection was open before');
      reconnected = true;
    });
    source.onmessage = t.step((event: MessageEvent) => {
      if (!opened) {
        opened = true;
        t.ok(!reconnected, 'no reconnection before the first message');
        t.equal(event.data, 'ok', 'first data');
      } else {
        t.ok(reconnected, 'an error event announced the reconnection');
        t.equal(event.data, 'data', 'data after reconnecting');
        t.done();
      }
    });
  });

const dataBeforeFinalEmptyLine = (env: WptEnv) =>
  env.test((t) => {
    const message = 'retry:1000\ndata:test1\n\nid:test\ndata:test2';
    const source = t.track(new env.EventSource(env.url('/message', { message, newline: 'none' })));
    let count = 0;
    source.onmessage = t.step((event: MessageEvent) => {
      count++;
      // The unterminated block (id:test, data:test2) is discarded, id included.
      t.equal(event.data, 'test1', `data of message ${count}`);
      t.equal(event.lastEventId, '', `lastEventId of message ${count}`);
      if (count === 2) t.done();
    });
  }, 5000);

// ---- the constructor and the object -----------------------------------------------------

const urlBogus = (env: WptEnv, p: { url: string }) =>
  env.test((t) => {
    const error = t.throws(
      () => new env.EventSource(p.url),
      'SyntaxError',
      'new EventSource(invalid URL)',
    );
    t.ok(error instanceof DOMException, 'a DOMException');
    t.equal((error as DOMException).code, 12, 'DOMException code SYNTAX_ERR');
    t.done();
  });

const emptyUrl = (env: WptEnv) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(''));
    t.equal(source.url, env.pageUrl, 'url of new EventSource("")');
    t.done();
  });

const stringifyObject = (env: WptEnv) =>
  env.test((t) => {
    const target = env.url('/message');
    const url = { toString: () => target } as unknown as string;
    const source = t.track(new env.EventSource(url));
    t.equal(source.url, target, 'url');
    source.onopen = t.step((event: Event) => {
      t.ok(!Object.hasOwn(event, 'data'), 'the open event has no own data');
      t.done();
    });
  });

const stringifyPrimitive = (env: WptEnv, p: { value: string }) =>
  env.test((t) => {
    const value = p.value === 'null' ? null : p.value === 'undefined' ? undefined : 1;
    const source = t.track(new env.EventSource(value as unknown as string));
    t.ok(source.url.endsWith(`/${p.value}`), `url ${source.url} ends with /${p.value}`);
    t.done();
  });

const onopenEvent = (env: WptEnv) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url('/message')));
    source.onopen = t.step((event: Event) => {
      t.equal(source.readyState, source.OPEN, 'readyState');
      t.ok(!Object.hasOwn(event, 'data'), 'the open event has no own data');
      t.equal(event.bubbles, false, 'bubbles');
      t.equal(event.cancelable, false, 'cancelable');
      t.done();
    });
  });

const receivesMessage = (env: WptEnv, p: { via: string }) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url('/message')));
    const listener = t.step((event: MessageEvent) => {
      t.equal(event.data, 'data', 'data');
      t.done();
    });
    if (p.via === 'onmessage') source.onmessage = listener;
    else source.addEventListener('message', listener as EventListener);
  });

const readyStates = (env: WptEnv) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url('/message')));
    t.equal(source.readyState, source.CONNECTING, 'readyState before the connection');
    const closed = t.track(new env.EventSource(env.url('/message')));
    closed.close();
    t.equal(closed.readyState, closed.CLOSED, 'readyState after close()');
    source.onopen = t.step(() => {
      t.equal(source.readyState, source.OPEN, 'readyState in onopen');
      t.done();
    });
  });

const urlAttribute = (env: WptEnv) =>
  env.test((t) => {
    const source = t.track(new env.EventSource(env.url('/message')));
    t.ok(source.url.endsWith('/message'), `url ${source.url} ends with the path`);
    t.done();
  });

// ---- the stream format, end to end ------------------------------------------------------

const messageData = (env: WptEnv, p: { message: string; newline: string; expected: string }) =>
  env.test((t) => {
    const query: Record<string, string> = { message: p.message };
    if (p.newline !== '') query.newline = p.newline;
    const expected = p.expected.split('|');
    const source = t.track(new env.EventSource(env.url('/message', query)));
    let count = 0;
    source.onmessage = t.step((event: MessageEvent) => {
      t.equal(event.data, expected[count], `data of message ${count + 1}`);
      count++;
      if (count === expected.length) t.done();
    });
    source.onerror = t.step(() => {
      // The stream ends after the expected messages; an error before that is a failure.
      if (count < expected.length) throw new Error('error event before all messages arrived');
    });
  });

const customEventType = (env: WptEnv) =>
  env.test((t) => {
    const message = 'event:test\ndata:x\n\ndata:x';
    const source = t.track(new env.EventSource(env.url('/message', { message })));
    let dispatchedTest = false;
    source.addEventListener('test', () => {
      dispatchedTest = true;
    });
    // onmessage sees only `message` events: the first one it sees is the second block.
    source.onmessage = t.step(() => {
      t.ok(dispatchedTest, 'the "test" event came first');
      t.done();
    });
  });

const bom = (env: WptEnv) =>
  env.test((t) => {
    const message = '\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3';
    const source = t.track(new env.EventSource(env.url('/message', { message })));
    const seen: string[] = [];
    source.onmessage = t.step((event: MessageEvent) => {
      seen.push(event.data);
      if (event.data === '3') {
        // Only the first BOM is stripped; the second makes `\uFEFFdata` an unknown field.
        t.equal(seen.join(','), '1,3', 'messages');
        t.done();
      }
    });
  });

// ---- cross-origin (browsers) ------------------------------------------------------------

const corsSucceeds = (env: WptEnv, p: { run: string }) =>
  env.test((t) => {
    const query: Record<string, string> = { run: p.run };
    if (p.run === 'redirect') {
      query.location = env.crossUrl('/cors', { run: 'message' });
      query.status = '302';
    }
    if (p.run === 'status-reconnect') {
      query.status = '200';
      query.id = env.unique();
    }
    const source = t.track(
      new env.EventSource(env.crossUrl('/cors', query), { withCredentials: true }),
    );
    source.onmessage = t.step((event: MessageEvent) => {
      t.equal(event.data, 'data', 'data');
      t.equal(event.origin, env.crossOrigin, 'origin');
      t.done();
    });
  });

const corsFails = (env: WptEnv, p: { path: string; origin: string }) =>
  env.test((t) => {
    const query: Record<string, string> = p.path === '/cors' ? { run: 'message' } : {};
    if (p.origin !== '-') query.origin = p.origin;
    const source = t.track(new env.EventSource(env.crossUrl(p.path, query)));
    source.onerror = t.step((event: Event) => {
      t.equal(source.readyState, source.CLOSED, 'readyState');
      t.ok(!Object.hasOwn(event, 'data'), 'the error event has no own data');
      t.done();
    });
    source.onmessage = t.unreached('message event');
    source.onopen = t.unreached('open event');
  });

const credentials = (env: WptEnv, p: { withCredentials: string; expectCookie: boolean }) =>
  env.test((t) => {
    const init =
      p.withCredentials === 'default' ? {} : { withCredentials: p.withCredentials === 'true' };
    const url = env.crossUrl('/cors-cookie', { ident: env.unique() });
    const source = t.track(new env.EventSource(url, init));
    source.onmessage = t.step((event: MessageEvent) => {
      if (event.data.startsWith('first')) {
        t.equal(event.data, 'first NO_COOKIE', 'cookie status of the first request');
      } else if (event.data.startsWith('second')) {
        const expected = p.expectCookie ? 'second COOKIE' : 'second NO_COOKIE';
        t.equal(event.data, expected, 'cookie status of the reconnection');
        t.done();
      } else {
        throw new Error(`unexpected data: ${event.data}`);
      }
    });
  });

// ---- rules of the standard that WPT leaves implicit -------------------------------------

const originAfterRedirect = (env: WptEnv) =>
  env.test((t) => {
    const location = env.crossUrl('/cors', { run: 'message' });
    const source = t.track(new env.EventSource(env.url('/redirect', { status: '307', location })));
    source.onmessage = t.step((event: MessageEvent) => {
      t.equal(event.origin, env.crossOrigin, 'origin of the final URL');
      t.done();
    });
  });

const closeInListener = (env: WptEnv) =>
  env.test((t) => {
    const message = 'data:1\n\ndata:2\n\ndata:3';
    const source = t.track(new env.EventSource(env.url('/message', { message })));
    let count = 0;
    source.onmessage = t.step(() => {
      count++;
      source.close();
      // Events 2 and 3 arrived in the same chunk; none may be dispatched after close().
      t.after(100, () => {
        t.equal(count, 1, 'messages dispatched');
        t.done();
      });
    });
  });

const statuses = ['204', '205', '210', '299', '404', '410', '503'];
const idsWithNul = ['\u0000\u0000', 'x\u0000', '\u0000x', 'x\u0000x', ' \u0000'];

export const cases: readonly WptCase[] = [
  ...statuses.map((status) =>
    define({
      name: `incorrect HTTP status code (${status}) fails the connection`,
      source: `${WPT}request-status-error.htm`,
      params: { status },
      run: statusError,
    }),
  ),
  define({
    name: 'bogus MIME type fails the connection',
    source: `${WPT}format-mime-bogus.any.js`,
    params: { mime: 'x bogus' },
    run: mimeFails,
  }),
  define({
    name: 'incorrect valid MIME type fails the connection',
    source: `${WPT}format-mime-valid-bogus.htm`,
    params: { mime: 'text/x-bogus' },
    run: mimeFails,
  }),
  define({
    name: 'MIME type with trailing ; opens',
    source: `${WPT}format-mime-trailing-semicolon.any.js`,
    run: mimeTrailingSemicolon,
  }),
  ...[
    'ftp://example.not/',
    'about:blank',
    'mailto:whatwg@awesome.example',
    "javascript:alert('FAIL')",
  ].map((url) =>
    define({
      name: `non-http URL ${url} fails the connection`,
      source: `${WPT}eventsource-constructor-non-same-origin.window.js`,
      params: { url },
      run: nonHttpUrl,
    }),
  ),
  define({
    name: 'Accept header',
    source: `${WPT}request-accept.htm`,
    params: { path: '/accept', expected: 'text/event-stream' },
    run: echoesHeader,
  }),
  define({
    name: 'Cache-Control header, twice',
    source: `${WPT}request-cache-control.any.js`,
    params: { cross: false },
    run: cacheControlTwice,
  }),
  define({
    name: 'Cache-Control header, twice, cross-origin',
    source: `${WPT}request-cache-control.any.js (resources/cors.py?run=cache-control)`,
    runners: BROWSERS,
    why: CORS_WHY,
    params: { cross: true },
    run: cacheControlTwice,
  }),
  ...['301', '302', '303', '307'].map((status) =>
    define({
      name: `redirect (${status}) is followed`,
      source: `${WPT}request-redirect.htm`,
      params: { status },
      run: redirect,
    }),
  ),
  define({
    name: 'Last-Event-ID (unicode) sent on reconnection',
    source: `${WPT}format-field-id.htm`,
    params: { messages: 2 },
    run: lastEventIdEcho,
  }),
  define({
    name: 'Last-Event-ID (unicode) sent on every reconnection',
    source: `${WPT}format-field-id-2.any.js`,
    params: { messages: 3 },
    run: lastEventIdEcho,
  }),
  ...idsWithNul.map((idvalue) =>
    define({
      name: `id field with U+0000 is ignored (${encodeURIComponent(idvalue)})`,
      source: `${WPT}format-field-id-null.window.js`,
      params: { idvalue },
      run: idWithNul,
    }),
  ),
  ...[
    ['1', '1,1', 'persists'],
    ['2', '1,2,2', 'changes and persists'],
    ['3', '1,,', 'resets'],
  ].map(([type = '', expected = '', what = '']) =>
    define({
      name: `lastEventId ${what}`,
      source: `${WPT}format-field-id-3.htm`,
      params: { type, expected },
      run: idPersistence,
    }),
  ),
  define({
    name: 'retry field sets the reconnection time (02000 is decimal)',
    source: `${WPT}format-field-retry.htm`,
    params: { message: 'retry:02000\ndata:x', expectedMs: 2000 },
    timeoutMs: 6000,
    run: retryTime,
  }),
  define({
    name: 'bogus retry field is ignored',
    source: `${WPT}format-field-retry-bogus.htm`,
    params: { message: 'retry:2000\nretry:1000x\ndata:x', expectedMs: 2000 },
    timeoutMs: 6000,
    run: retryTime,
  }),
  define({
    name: 'empty retry field is ignored',
    source: `${WPT}format-field-retry-empty.any.js`,
    params: { message: 'retry\ndata:test', newline: '', expected: 'test' },
    run: messageData,
  }),
  define({
    name: 'close() states',
    source: `${WPT}eventsource-close.window.js`,
    run: closeStates,
  }),
  define({
    name: 'close() test events: the reconnect-fail sequence',
    source: `${WPT}eventsource-close.window.js (resources/reconnect-fail.py)`,
    run: reconnectFailSequence,
  }),
  define({
    name: 'reconnection after the stream ends (200)',
    source: `${WPT}eventsource-reconnect.js`,
    run: reconnectAfterStatus,
  }),
  define({
    name: 'reconnection events',
    source: `${WPT}eventsource-reconnect.js (ok_first)`,
    run: reconnectEvents,
  }),
  define({
    name: 'data before the final empty line is discarded',
    source: `${WPT}format-data-before-final-empty-line.js`,
    timeoutMs: 5000,
    run: dataBeforeFinalEmptyLine,
  }),
  define({
    name: 'constructor with an invalid URL throws SyntaxError',
    source: `${WPT}eventsource-constructor-url-bogus.any.js`,
    // Chromium's URL parser percent-encodes the spaces into the host instead of failing, so
    // there `new URL()` (and any EventSource on it) accepts this URL: a Chromium deviation.
    runners: ['node'],
    why: 'Chromium accepts a space in a host (http://this%20is%20invalid/)',
    params: { url: 'http://this is invalid/' },
    run: urlBogus,
  }),
  define({
    name: 'constructor with an invalid URL throws SyntaxError (unclosed IPv6 host)',
    source: `tidings: HTML "If urlRecord is failure, then throw a SyntaxError DOMException" (${WPT}eventsource-constructor-url-bogus.any.js with a URL Chromium rejects too)`,
    params: { url: 'http://[::1/' },
    run: urlBogus,
  }),
  define({
    name: 'constructor with the empty string gives the document URL',
    source: `${WPT}eventsource-constructor-empty-url.js`,
    runners: BROWSERS,
    why: RELATIVE_URLS_WHY,
    run: emptyUrl,
  }),
  define({
    name: 'constructor stringifies an object',
    source: `${WPT}eventsource-constructor-stringify.js`,
    run: stringifyObject,
  }),
  ...['1', 'null', 'undefined'].map((value) =>
    define({
      name: `constructor stringifies ${value}`,
      source: `${WPT}eventsource-constructor-stringify.js`,
      runners: BROWSERS,
      why: RELATIVE_URLS_WHY,
      params: { value },
      run: stringifyPrimitive,
    }),
  ),
  define({
    name: 'onopen: announcing the connection',
    source: `${WPT}eventsource-onopen.js`,
    run: onopenEvent,
  }),
  define({
    name: 'onmessage',
    source: `${WPT}eventsource-onmessage.js`,
    params: { via: 'onmessage' },
    run: receivesMessage,
  }),
  define({
    name: 'addEventListener("message")',
    source: `${WPT}eventsource-eventtarget.js`,
    params: { via: 'addEventListener' },
    run: receivesMessage,
  }),
  define({
    name: 'readyState: CONNECTING, OPEN, CLOSED',
    source: `${WPT}eventsource-readyState.html`,
    run: readyStates,
  }),
  define({ name: 'url attribute', source: `${WPT}eventsource-url.js`, run: urlAttribute }),
  define({
    name: 'custom event name',
    source: `${WPT}format-field-event.htm`,
    run: customEventType,
  }),
  define({
    name: 'empty event field gives a message event',
    source: `${WPT}format-field-event-empty.htm`,
    params: { message: 'event: \ndata:data', newline: '', expected: 'data' },
    run: messageData,
  }),
  define({ name: 'BOM', source: `${WPT}format-bom.js`, run: bom }),
  define({
    name: 'always UTF-8, whatever the charset says',
    source: `${WPT}format-utf-8.any.js`,
    // Chromium fails the connection when the charset parameter is not utf-8 ("EventSource's
    // response has a charset that is not UTF-8"), against the spec's "always decoded as UTF-8".
    runners: ['node', 'chromium-ours'],
    why: "Chromium's own EventSource refuses a charset other than utf-8",
    params: { message: 'data:ok…', newline: '', expected: 'ok…' },
    run: (env, p) =>
      env.test((t) => {
        const mime = 'text/event-stream;charset=windows-1252';
        const source = t.track(
          new env.EventSource(env.url('/message', { mime, message: p.message })),
        );
        source.onmessage = t.step((event: MessageEvent) => {
          t.equal(event.data, p.expected, 'decoded data');
          t.done();
        });
        source.onerror = t.unreached('error event');
      }),
  }),
  define({
    name: 'comment fest',
    source: `${WPT}format-comments.js`,
    params: {
      message: `data:1\r:\0\n:\r\ndata:2\n:${'x'.repeat(2048)}\rdata:3\n:data:fail\r:${'x'.repeat(2048)}\ndata:4\n`,
      newline: 'none',
      expected: '1\n2\n3\n4',
    },
    run: messageData,
  }),
  define({
    name: 'null character in data',
    source: `${WPT}format-null-character.html`,
    params: { message: 'data:\0\n\n', newline: '', expected: '\0' },
    run: messageData,
  }),
  define({
    name: 'data field parsing',
    source: `${WPT}format-field-data.js`,
    params: { message: 'data:\n\ndata\ndata\n\ndata:test', newline: '', expected: '|\n|test' },
    run: messageData,
  }),
  define({
    name: 'field parsing',
    source: `${WPT}format-field-parsing.any.js`,
    params: {
      message:
        'data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n',
      newline: 'none',
      expected: '\0\n 2\n1\n3\n\n4',
    },
    run: messageData,
  }),
  define({
    name: 'leading space',
    source: `${WPT}format-leading-space.any.js`,
    params: { message: 'data:\ttest\rdata: \ndata:test', newline: '', expected: '\ttest\n\ntest' },
    run: messageData,
  }),
  define({
    name: 'newline fest',
    source: `${WPT}format-newlines.any.js`,
    params: {
      message: 'data:test\r\ndata\ndata:test\r\n\r',
      newline: 'none',
      expected: 'test\n\ntest',
    },
    run: messageData,
  }),
  define({
    name: 'unknown fields and parsing fun',
    source: `${WPT}format-field-unknown.any.js`,
    params: {
      message: 'data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test',
      newline: '',
      expected: 'test\n\ntest',
    },
    run: messageData,
  }),
  ...['message', 'redirect', 'status-reconnect'].map((run) =>
    define({
      name: `cross-origin with credentials: ${run}`,
      source: `${WPT}eventsource-cross-origin.js (resources/cors.py?run=${run})`,
      runners: BROWSERS,
      why: CORS_WHY,
      params: { run },
      run: corsSucceeds,
    }),
  ),
  ...[
    ['/cors', 'http://example.org', 'allow-origin: http://example.org'],
    ['/cors', '', "allow-origin: ''"],
    ['/message', '-', 'no allow-origin'],
  ].map(([path = '', origin = '', what = '']) =>
    define({
      name: `cross-origin ${what} fails the connection`,
      source: `${WPT}eventsource-cross-origin.js (failCORS)`,
      // fetch reports a CORS failure as the same TypeError as a network error, so an
      // EventSource built on fetch cannot tell them apart and reconnects where a browser's
      // own EventSource fails: a documented difference.
      runners: ['chromium-native'],
      why: `${CORS_WHY}; on fetch a CORS failure cannot be told from a network error`,
      params: { path, origin },
      run: corsFails,
    }),
  ),
  ...[
    ['true', true],
    ['false', false],
    ['default', false],
  ].map(([withCredentials, expectCookie]) =>
    define({
      name: `credentials ${withCredentials === 'true' ? 'enabled' : withCredentials === 'false' ? 'disabled' : 'default'}`,
      source: `${WPT}request-credentials.htm (resources/cors-cookie.py)`,
      runners: BROWSERS,
      why: 'Node has no cookie jar',
      params: { withCredentials: String(withCredentials), expectCookie: Boolean(expectCookie) },
      run: credentials,
    }),
  ),
  define({
    name: 'MessageEvent.origin is the origin of the final URL after a redirect',
    source: 'tidings: HTML "origin ... of the event stream\'s final URL"',
    run: originAfterRedirect,
  }),
  define({
    name: 'close() in a listener stops the events already received',
    source: 'tidings: HTML "queue a task which, if readyState is not CLOSED, dispatches"',
    run: closeInListener,
  }),
];
