import { EventSource, type EventSourceInit } from '@tidings/client';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { VirtualClock } from './support/virtual-clock.js';
import { cases } from './wpt/cases.js';
import { createWptEnv, type EventSourceConstructor, type WptEnv } from './wpt/harness.js';
import { startWptServer, type WptServer } from './wpt/server.js';

/**
 * An env whose EventSource waits on its own virtual clock that jumps ahead: `retry: 2000`
 * costs no real time yet is measured exactly. One clock per case, since the cases run
 * concurrently and each must see only its own delays.
 */
function nodeEnv(server: WptServer, prefix: string): WptEnv {
  const clock = new VirtualClock({ auto: true });
  class VirtualTimeEventSource extends EventSource {
    constructor(url: string | URL, init: EventSourceInit = {}) {
      super(url, { ...init, clock });
    }
  }
  return createWptEnv({
    EventSource: VirtualTimeEventSource as unknown as EventSourceConstructor,
    origin: server.origin,
    crossOrigin: server.crossOrigin,
    pageUrl: undefined,
    now: () => clock.now(),
    prefix,
  });
}

describe('EventSource conformance (web-platform-tests), ours in Node', () => {
  let server: WptServer;
  beforeAll(async () => {
    server = await startWptServer();
  });
  afterAll(() => server?.close());

  for (const [index, entry] of cases.entries()) {
    if (entry.runners !== undefined && !entry.runners.includes('node')) continue;
    it.concurrent(`${entry.name} [${entry.source}]`, () =>
      entry.run(nodeEnv(server, `node-${index}`), (entry.params ?? {}) as never));
  }
});
