import type { connect as connectFunction } from '@tidings/client';

/** What the page is told by the server, as JSON in a data block (never spliced into code). */
export interface DashboardConfig {
  hubPath: string;
  statsPath: string;
  subscriptionsPath: string;
  tokenPath: string;
  mintPath: string | null;
  selectorPath: string;
  /** The development token: prefilled in the settings. */
  publisherToken: string | null;
  cookieName: string;
}

/**
 * The dashboard's behaviour. It runs in the browser as a module: the page embeds this
 * function's source (`String(dashboardMain)`) and hands it `connect` from `@tidings/client`,
 * so it is written — and type-checked — here, but must not use anything outside its own body.
 * Everything received is shown with `textContent`, never parsed as HTML.
 */
export function dashboardMain(config: DashboardConfig, connect: typeof connectFunction): void {
  const MAX_EVENTS = 200;
  const SPARK_POINTS = 60;
  const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const value = (id: string) => byId<HTMLInputElement>(id).value.trim();
  const number = new Intl.NumberFormat('en');

  function lines(text: string): string[] {
    return text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  }

  function say(id: string, state: string, text: string): void {
    const element = byId(id);
    element.dataset.state = state;
    element.textContent = text;
  }

  // -------------------------------------------------------------------------------------------
  // Settings: which hub, and how the token travels.
  // -------------------------------------------------------------------------------------------
  byId<HTMLInputElement>('hub-url').value = new URL(config.hubPath, location.href).href;
  if (config.publisherToken !== null) byId<HTMLInputElement>('token').value = config.publisherToken;
  const hubUrl = () => value('hub-url');
  const useCookie = () => byId<HTMLInputElement>('token-cookie').checked;

  /** Headers for a request to the hub; with the cookie setting, the cookie is set instead. */
  function authHeaders(): Record<string, string> {
    const token = value('token');
    if (token === '') return {};
    if (useCookie()) {
      // Only a JWT's own characters, so the text cannot add cookie attributes of its own.
      if (/^[\w.-]+$/.test(token)) {
        const secure = location.protocol === 'https:' ? '; Secure' : '';
        // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API needs a secure context, and a hub on a private address is often served over plain HTTP.
        document.cookie = `${config.cookieName}=${token}; path=/; SameSite=Strict${secure}`;
      }
      return {};
    }
    return { authorization: `Bearer ${token}` };
  }
  const credentials = (): RequestCredentials => (useCookie() ? 'include' : 'same-origin');

  // -------------------------------------------------------------------------------------------
  // Live counters and the latency graph, over SSE from the stats path.
  // -------------------------------------------------------------------------------------------
  const rates: number[] = [];
  const p50s: (number | null)[] = [];
  const p99s: (number | null)[] = [];

  function formatUptime(seconds: number): string {
    const s = Math.floor(seconds);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
    return `${Math.floor(h / 24)} days ${h % 24} h`;
  }

  function polyline(values: (number | null)[], max: number, height: number): string {
    const step = 100 / (SPARK_POINTS - 1);
    const offset = SPARK_POINTS - values.length;
    const points: string[] = [];
    values.forEach((v, i) => {
      if (v === null) return;
      points.push(
        `${((offset + i) * step).toFixed(1)},${(height - (v / max) * (height - 2)).toFixed(1)}`,
      );
    });
    return points.join(' ');
  }

  function push<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > SPARK_POINTS) list.shift();
  }

  function formatMs(ms: number | null): string {
    if (ms === null) return '–';
    return ms < 1 ? `≤ ${ms} ms` : `≤ ${number.format(ms)} ms`;
  }

  interface Stats {
    [name: string]: unknown;
    latency?: { count: number; p50Ms: number | null; p99Ms: number | null };
  }

  function showStats(stats: Stats): void {
    for (const name of [
      'connections',
      'subscriptions',
      'eventsPerSecond',
      'published',
      'delivered',
    ]) {
      const v = stats[name];
      if (typeof v === 'number') byId(`stat-${name}`).textContent = number.format(v);
    }
    if (typeof stats.uptimeSeconds === 'number') {
      byId('stat-uptimeSeconds').textContent = formatUptime(stats.uptimeSeconds);
    }
    if (typeof stats.eventsPerSecond === 'number') {
      push(rates, stats.eventsPerSecond);
      byId('spark-line').setAttribute('points', polyline(rates, Math.max(1, ...rates), 30));
    }
    const latency = stats.latency;
    if (latency !== undefined) {
      push(p50s, latency.p50Ms);
      push(p99s, latency.p99Ms);
      const max = Math.max(1, ...p99s.map((v) => v ?? 0));
      byId('latency-p50').setAttribute('points', polyline(p50s, max, 60));
      byId('latency-p99').setAttribute('points', polyline(p99s, max, 60));
      byId('latency-max').textContent = `${number.format(max)} ms`;
      byId('latency-text').textContent =
        latency.count === 0
          ? 'No deliveries in the last 10 s.'
          : `p50 ${formatMs(latency.p50Ms)} · p99 ${formatMs(latency.p99Ms)} · ${number.format(latency.count)} updates in the last 10 s`;
    }
  }

  const statsSource = new EventSource(config.statsPath);
  const showLive = (state: string, text: string) => {
    byId('live').dataset.state = state;
    byId('live-text').textContent = text;
  };
  statsSource.addEventListener('open', () => showLive('live', 'live'));
  statsSource.addEventListener('error', () =>
    showLive(
      'down',
      statsSource.readyState === EventSource.CLOSED ? 'stats unavailable' : 'reconnecting…',
    ),
  );
  statsSource.addEventListener('stats', (event) => {
    try {
      showStats(JSON.parse((event as MessageEvent<string>).data) as Stats);
    } catch {
      // A malformed frame is skipped; the next one comes within a second.
    }
  });

  // -------------------------------------------------------------------------------------------
  // Subscribe with @tidings/client: every event type is shown, whatever its name.
  // -------------------------------------------------------------------------------------------
  const eventList = byId<HTMLUListElement>('events');
  let subscription: AbortController | null = null;
  let receivedCount = 0;

  /** A refusal as the hub gave it: status and its one-line reason, else what went wrong. */
  function describeFailure(error: Error): string {
    const failure = error as Error & { status?: number; body?: string };
    if (typeof failure.status !== 'number') return error.message;
    return `${failure.status} ${reasonOf(failure.body ?? '')}`;
  }

  /** The one-line reason of a refusal: the `detail` of RFC 9457 problem details, or the text. */
  function reasonOf(body: string): string {
    try {
      const detail = (JSON.parse(body) as { detail?: unknown }).detail;
      if (typeof detail === 'string') return detail;
    } catch {
      // Plain text: its first line is the reason.
    }
    return body.trim().split('\n')[0] ?? '';
  }

  function showEvent(event: { type: string; data: string; lastEventId: string }): void {
    receivedCount++;
    byId('received-count').textContent = `${number.format(receivedCount)} received`;
    byId<HTMLInputElement>('last-event-id').value = event.lastEventId;
    eventList.querySelector('.empty')?.remove();
    const item = document.createElement('li');
    const meta = document.createElement('div');
    meta.className = 'meta';
    const field = (label: string, text: string) => {
      const span = document.createElement('span');
      const strong = document.createElement('b');
      strong.textContent = text;
      span.append(`${label} `, strong);
      meta.append(span);
    };
    field('at', new Date().toLocaleTimeString('en-GB'));
    field('type', event.type);
    if (event.lastEventId !== '') field('id', event.lastEventId);
    const data = document.createElement('pre');
    data.textContent = event.data;
    item.append(meta, data);
    eventList.prepend(item);
    while (eventList.children.length > MAX_EVENTS) eventList.lastElementChild?.remove();
  }

  function stopSubscription(): void {
    subscription?.abort();
    subscription = null;
    byId('subscribe-button').textContent = 'Subscribe';
  }

  byId<HTMLFormElement>('subscribe-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (subscription !== null) {
      stopSubscription();
      say('subscribe-status', 'idle', 'Not subscribed.');
      return;
    }
    const topics = lines(byId<HTMLTextAreaElement>('subscribe-topics').value);
    if (topics.length === 0) {
      say('subscribe-status', 'closed', 'Enter at least one topic selector.');
      return;
    }
    let url: URL;
    try {
      url = new URL(hubUrl());
    } catch {
      say('subscribe-status', 'closed', 'The hub URL is not a URL.');
      return;
    }
    for (const topic of topics) url.searchParams.append('topic', topic);
    const controller = new AbortController();
    subscription = controller;
    byId('subscribe-button').textContent = 'Unsubscribe';
    say('subscribe-status', 'connecting', 'Connecting…');
    const lastEventId = value('last-event-id');
    const stream = connect(url, {
      headers: authHeaders,
      credentials: credentials(),
      signal: controller.signal,
      ...(lastEventId === '' ? {} : { lastEventId }),
      onopen(response) {
        const sent = response.headers.get('last-event-id');
        say(
          'subscribe-status',
          'open',
          sent === null
            ? 'Subscribed: events appear below as they arrive.'
            : `Subscribed, replaying after ${sent}.`,
        );
      },
      onevent: showEvent,
      onerror(error, info) {
        if (subscription !== controller) return;
        if (info.willReconnect) {
          say(
            'subscribe-status',
            'reconnecting',
            'Connection lost, reconnecting with Last-Event-ID…',
          );
        } else {
          stopSubscription();
          say('subscribe-status', 'closed', `Refused: ${describeFailure(error)}`);
        }
      },
    });
    void stream.closed.catch(() => {});
  });

  byId('replay-earliest').addEventListener('click', () => {
    byId<HTMLInputElement>('last-event-id').value = 'earliest';
  });
  byId('clear-events').addEventListener('click', () => {
    eventList.replaceChildren();
    receivedCount = 0;
    byId('received-count').textContent = '0 received';
  });

  // -------------------------------------------------------------------------------------------
  // Publish: a form-urlencoded POST, as any Mercure publisher sends it.
  // -------------------------------------------------------------------------------------------
  byId<HTMLFormElement>('publish-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = new URLSearchParams();
    for (const topic of lines(byId<HTMLTextAreaElement>('publish-topics').value))
      body.append('topic', topic);
    body.set('data', byId<HTMLTextAreaElement>('publish-data').value);
    const type = value('publish-type');
    if (type !== '') body.set('type', type);
    const id = value('publish-id');
    if (id !== '') body.set('id', id);
    if (byId<HTMLInputElement>('publish-private').checked) body.set('private', 'on');
    say('publish-result', 'pending', 'Publishing…');
    try {
      const response = await fetch(hubUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...authHeaders() },
        credentials: credentials(),
        body,
      });
      const text = (await response.text()).trim();
      if (response.ok) say('publish-result', 'ok', `Published as ${text}`);
      else say('publish-result', 'error', `Refused: ${response.status} ${reasonOf(text)}`);
    } catch {
      say('publish-result', 'error', 'The hub cannot be reached.');
    }
  });

  // -------------------------------------------------------------------------------------------
  // Active subscriptions: the subscriptions API once, then its subscription events live.
  // -------------------------------------------------------------------------------------------
  interface SubscriptionDocument {
    id: string;
    topic?: string;
    match?: string;
    subscriber: string;
    active: boolean;
  }
  const active = new Map<string, SubscriptionDocument>();
  let watching: AbortController | null = null;

  function drawSubscriptions(): void {
    const list = byId<HTMLUListElement>('subscriptions');
    list.replaceChildren();
    for (const document_ of active.values()) {
      const item = document.createElement('li');
      const topic = document.createElement('code');
      topic.textContent = document_.topic ?? document_.match ?? '';
      const who = document.createElement('span');
      who.className = 'hint';
      who.textContent = ` ${document_.subscriber}`;
      item.append(topic, who);
      list.append(item);
    }
    byId('subscriptions-count').textContent = `${active.size} active`;
  }

  function stopWatching(): void {
    watching?.abort();
    watching = null;
    byId('watch-button').textContent = 'Watch';
  }

  byId('watch-button').addEventListener('click', async () => {
    if (watching !== null) {
      stopWatching();
      say('watch-status', 'idle', 'Not watching.');
      return;
    }
    const controller = new AbortController();
    watching = controller;
    byId('watch-button').textContent = 'Stop';
    say('watch-status', 'connecting', 'Loading…');
    const collection = new URL(config.subscriptionsPath, hubUrl());
    try {
      const response = await fetch(collection, {
        headers: { accept: 'application/ld+json', ...authHeaders() },
        credentials: credentials(),
        signal: controller.signal,
      });
      if (!response.ok) {
        stopWatching();
        say(
          'watch-status',
          'closed',
          `Refused: ${response.status} ${reasonOf(await response.text())}`,
        );
        return;
      }
      const body = (await response.json()) as {
        subscriptions: SubscriptionDocument[];
        lastEventID?: string;
      };
      active.clear();
      for (const document_ of body.subscriptions) active.set(document_.id, document_);
      drawSubscriptions();
      const url = new URL(hubUrl());
      url.searchParams.append('topic', `${collection.pathname}{/topic}{/subscriber}`);
      const stream = connect(url, {
        headers: authHeaders,
        credentials: credentials(),
        signal: controller.signal,
        ...(body.lastEventID ? { lastEventId: body.lastEventID } : {}),
        onopen() {
          say('watch-status', 'open', 'Live: subscribers appear and leave as they do.');
        },
        onevent(event) {
          try {
            const document_ = JSON.parse(event.data) as SubscriptionDocument;
            if (document_.active) active.set(document_.id, document_);
            else active.delete(document_.id);
            drawSubscriptions();
          } catch {
            // Not a subscription document: nothing to show.
          }
        },
        onerror(error, info) {
          if (!info.willReconnect && watching === controller) {
            stopWatching();
            say('watch-status', 'closed', `Refused: ${describeFailure(error)}`);
          }
        },
      });
      void stream.closed.catch(() => {});
    } catch (error) {
      if (watching !== controller) return;
      stopWatching();
      say(
        'watch-status',
        'closed',
        `The subscriptions API cannot be read: ${(error as Error).message}`,
      );
    }
  });

  // -------------------------------------------------------------------------------------------
  // Discovery: the Link headers a resource names its hub with.
  // -------------------------------------------------------------------------------------------
  byId<HTMLFormElement>('discover-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const list = byId<HTMLUListElement>('discovered');
    list.replaceChildren();
    say('discover-status', 'pending', 'Asking…');
    try {
      // No token and no cookies: the resource may be anyone's, and the hub's token is not theirs.
      const response = await fetch(value('discover-url'), { credentials: 'omit' });
      const link = response.headers.get('link') ?? '';
      const links = link
        .split(/,(?=\s*<)/)
        .map((part) => part.trim())
        .filter((part) => part !== '');
      for (const part of links) {
        const item = document.createElement('li');
        const code = document.createElement('code');
        code.textContent = part;
        item.append(code);
        list.append(item);
      }
      const hub = links.find((part) => /;\s*rel="?mercure"?/.test(part));
      if (hub !== undefined) {
        say(
          'discover-status',
          'ok',
          `${response.status}: the hub is ${hub.slice(1, hub.indexOf('>'))}`,
        );
      } else {
        say(
          'discover-status',
          'error',
          `${response.status}: no Link rel="mercure" header (cross-origin, the server must list Link in Access-Control-Expose-Headers)`,
        );
      }
    } catch {
      say(
        'discover-status',
        'error',
        'The URL cannot be reached (or its CORS headers do not let this page read it).',
      );
    }
  });

  // -------------------------------------------------------------------------------------------
  // Token helper and selector tester: the hub answers with its own verification and matcher.
  // -------------------------------------------------------------------------------------------
  async function ask(
    path: string,
    question: unknown,
  ): Promise<{ ok: boolean; body: unknown; text: string }> {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(question),
    });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // A refusal in plain text: shown as it is.
    }
    return { ok: response.ok, body, text };
  }

  interface RoleVerdict {
    accepted: boolean;
    reason: string;
  }
  interface TokenReport {
    decoded: boolean;
    reason?: string;
    alg?: string;
    expiresAt?: string | null;
    expired?: boolean;
    payload?: unknown;
    publisher?: RoleVerdict;
    subscriber?: RoleVerdict;
  }

  function showVerdict(id: string, role: string, verdict: RoleVerdict | undefined): void {
    if (verdict === undefined) return;
    say(
      id,
      verdict.accepted ? 'ok' : 'error',
      `As ${role}: ${verdict.accepted ? 'accepted' : 'refused'} — ${verdict.reason}`,
    );
  }

  byId<HTMLFormElement>('token-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const id of ['token-publisher', 'token-subscriber']) say(id, 'idle', '');
    byId('token-claims').textContent = '';
    try {
      const { ok, body, text } = await ask(config.tokenPath, { token: value('token-input') });
      if (!ok) {
        say('token-summary', 'error', reasonOf(text));
        return;
      }
      const report = body as TokenReport;
      if (!report.decoded) {
        say('token-summary', 'error', report.reason ?? 'not a JWT');
        return;
      }
      const expiry =
        report.expiresAt === null
          ? 'never expires'
          : `${report.expired ? 'expired' : 'expires'} ${report.expiresAt}`;
      say('token-summary', report.expired ? 'error' : 'ok', `alg ${report.alg} · ${expiry}`);
      byId('token-claims').textContent = JSON.stringify(report.payload, null, 2);
      showVerdict('token-publisher', 'publisher', report.publisher);
      showVerdict('token-subscriber', 'subscriber', report.subscriber);
    } catch {
      say('token-summary', 'error', 'The hub cannot be reached.');
    }
  });

  if (config.mintPath !== null) {
    const mintPath = config.mintPath;
    byId('mint-button').addEventListener('click', async () => {
      const selectors = (id: string) =>
        value(id)
          .split(/\s+/)
          .filter((s) => s !== '');
      const question: Record<string, unknown> = {
        publish: selectors('mint-publish'),
        subscribe: selectors('mint-subscribe'),
      };
      const minutes = Number(value('mint-minutes'));
      if (minutes > 0) question.expiresInSeconds = Math.round(minutes * 60);
      try {
        const { ok, body, text } = await ask(mintPath, question);
        if (!ok) {
          say('token-summary', 'error', reasonOf(text));
          return;
        }
        byId<HTMLInputElement>('token-input').value = (body as { token: string }).token;
        say(
          'token-summary',
          'ok',
          'Minted with the development secret: Explain it, or use it in the settings.',
        );
      } catch {
        say('token-summary', 'error', 'The hub cannot be reached.');
      }
    });
  }

  byId<HTMLFormElement>('selector-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const { ok, body, text } = await ask(config.selectorPath, {
        selector: value('selector-input'),
        topic: value('selector-topic'),
        kind: byId<HTMLSelectElement>('selector-kind').value,
      });
      if (!ok) {
        say('selector-result', 'error', reasonOf(text));
        return;
      }
      const answer = body as { matches: boolean; rule: string; reason: string };
      say(
        'selector-result',
        answer.matches ? 'ok' : 'error',
        `${answer.matches ? 'Matches' : 'Does not match'} (${answer.rule}): ${answer.reason}`,
      );
    } catch {
      say('selector-result', 'error', 'The hub cannot be reached.');
    }
  });
}
