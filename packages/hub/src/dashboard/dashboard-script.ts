/** What the page is told by the server, as JSON in a data block (never spliced into code). */
export interface DashboardConfig {
  hubPath: string;
  statsPath: string;
  publisherToken: string | null;
}

/**
 * The dashboard's behaviour. It runs in the browser: the page embeds this function's source
 * (`String(dashboardMain)`), so it is written — and type-checked — here, but must not use
 * anything outside its own body. Everything received is shown with `textContent`, never parsed
 * as HTML.
 */
export function dashboardMain(config: DashboardConfig): void {
  const MAX_EVENTS = 200;
  const SPARK_POINTS = 60;
  const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

  // -------------------------------------------------------------------------------------------
  // Live counters, over SSE from the stats path.
  // -------------------------------------------------------------------------------------------
  const live = byId<HTMLElement>('live');
  const liveText = byId<HTMLElement>('live-text');
  const rates: number[] = [];
  const number = new Intl.NumberFormat('en');

  function formatUptime(seconds: number): string {
    const s = Math.floor(seconds);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
    return `${Math.floor(h / 24)} days ${h % 24} h`;
  }

  function drawSpark(): void {
    const line = byId<HTMLElement>('spark-line');
    const max = Math.max(1, ...rates);
    const step = 100 / (SPARK_POINTS - 1);
    const offset = SPARK_POINTS - rates.length;
    line.setAttribute(
      'points',
      rates
        .map(
          (rate, i) => `${((offset + i) * step).toFixed(1)},${(30 - (rate / max) * 28).toFixed(1)}`,
        )
        .join(' '),
    );
  }

  function showStats(stats: Record<string, number>): void {
    for (const name of [
      'connections',
      'subscriptions',
      'eventsPerSecond',
      'published',
      'delivered',
    ]) {
      const value = stats[name];
      if (typeof value === 'number') byId(`stat-${name}`).textContent = number.format(value);
    }
    if (typeof stats.uptimeSeconds === 'number') {
      byId('stat-uptimeSeconds').textContent = formatUptime(stats.uptimeSeconds);
    }
    if (typeof stats.eventsPerSecond === 'number') {
      rates.push(stats.eventsPerSecond);
      if (rates.length > SPARK_POINTS) rates.shift();
      drawSpark();
    }
  }

  const statsSource = new EventSource(config.statsPath);
  statsSource.addEventListener('open', () => {
    live.dataset.state = 'live';
    liveText.textContent = 'live';
  });
  statsSource.addEventListener('error', () => {
    live.dataset.state = 'down';
    liveText.textContent =
      statsSource.readyState === EventSource.CLOSED ? 'stats unavailable' : 'reconnecting…';
  });
  statsSource.addEventListener('stats', (event) => {
    try {
      showStats(JSON.parse((event as MessageEvent<string>).data) as Record<string, number>);
    } catch {
      // A malformed frame is skipped; the next one comes within a second.
    }
  });

  // -------------------------------------------------------------------------------------------
  // Subscribe: an EventSource on the hub path, events listed newest first.
  // -------------------------------------------------------------------------------------------
  const subscribeForm = byId<HTMLFormElement>('subscribe-form');
  const subscribeButton = byId<HTMLButtonElement>('subscribe-button');
  const subscribeStatus = byId<HTMLElement>('subscribe-status');
  const eventList = byId<HTMLUListElement>('events');
  const received = byId<HTMLElement>('received-count');
  const listened = new Set<string>(['message']);
  let source: EventSource | null = null;
  let receivedCount = 0;

  function setSubscribeStatus(state: string, text: string): void {
    subscribeStatus.dataset.state = state;
    subscribeStatus.textContent = text;
  }

  function lines(value: string): string[] {
    return value
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  }

  function subscriptionUrl(): string {
    const params = new URLSearchParams();
    for (const topic of lines(byId<HTMLTextAreaElement>('subscribe-topics').value))
      params.append('topic', topic);
    const token = byId<HTMLInputElement>('subscribe-token').value.trim();
    if (token !== '') params.set('authorization', token);
    if (byId<HTMLInputElement>('subscribe-history').checked) params.set('lastEventID', 'earliest');
    return `${config.hubPath}?${params.toString()}`;
  }

  function showEvent(event: MessageEvent<string>): void {
    receivedCount++;
    received.textContent = `${number.format(receivedCount)} received`;
    eventList.querySelector('.empty')?.remove();
    const item = document.createElement('li');
    const meta = document.createElement('div');
    meta.className = 'meta';
    const field = (label: string, value: string) => {
      const span = document.createElement('span');
      const strong = document.createElement('b');
      strong.textContent = value;
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

  function listen(type: string): void {
    if (type === '' || listened.has(type)) return;
    listened.add(type);
    source?.addEventListener(type, showEvent as EventListener);
  }

  /** EventSource hides why a hub refused: ask once more with fetch to show its one-line reason. */
  async function explainRefusal(url: string): Promise<void> {
    const controller = new AbortController();
    try {
      const response = await fetch(url, {
        signal: controller.signal,
        headers: { accept: 'text/event-stream' },
      });
      if (response.ok) {
        controller.abort();
        setSubscribeStatus('closed', 'Closed by the hub.');
        return;
      }
      const reason = (await response.text()).trim().split('\n')[0] ?? '';
      setSubscribeStatus('closed', `Refused: ${response.status} ${reason}`);
    } catch {
      setSubscribeStatus('closed', 'Closed: the hub cannot be reached.');
    }
  }

  function stop(): void {
    source?.close();
    source = null;
    subscribeButton.textContent = 'Subscribe';
  }

  subscribeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (source !== null) {
      stop();
      setSubscribeStatus('idle', 'Not subscribed.');
      return;
    }
    if (lines(byId<HTMLTextAreaElement>('subscribe-topics').value).length === 0) {
      setSubscribeStatus('closed', 'Enter at least one topic selector.');
      return;
    }
    for (const type of byId<HTMLInputElement>('subscribe-types').value.split(','))
      listen(type.trim());
    const url = subscriptionUrl();
    const current = new EventSource(url);
    source = current;
    subscribeButton.textContent = 'Unsubscribe';
    setSubscribeStatus('connecting', 'Connecting…');
    for (const type of listened) current.addEventListener(type, showEvent as EventListener);
    current.addEventListener('open', () =>
      setSubscribeStatus('open', 'Subscribed: events appear below as they arrive.'),
    );
    current.addEventListener('error', () => {
      if (source !== current) return;
      if (current.readyState === EventSource.CLOSED) {
        stop();
        void explainRefusal(url);
      } else {
        setSubscribeStatus(
          'reconnecting',
          'Connection lost, reconnecting (Last-Event-ID keeps the place)…',
        );
      }
    });
  });

  byId<HTMLButtonElement>('clear-events').addEventListener('click', () => {
    eventList.replaceChildren();
    receivedCount = 0;
    received.textContent = '0 received';
  });

  // -------------------------------------------------------------------------------------------
  // Publish: a form-urlencoded POST, as any Mercure publisher sends it.
  // -------------------------------------------------------------------------------------------
  const publishForm = byId<HTMLFormElement>('publish-form');
  const publishResult = byId<HTMLElement>('publish-result');
  const tokenInput = byId<HTMLInputElement>('publish-token');
  if (config.publisherToken !== null) tokenInput.value = config.publisherToken;

  publishForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = new URLSearchParams();
    for (const topic of lines(byId<HTMLTextAreaElement>('publish-topics').value))
      body.append('topic', topic);
    body.set('data', byId<HTMLTextAreaElement>('publish-data').value);
    const type = byId<HTMLInputElement>('publish-type').value.trim();
    if (type !== '') {
      body.set('type', type);
      // So the subscriber pane shows events of this type too.
      listen(type);
    }
    const id = byId<HTMLInputElement>('publish-id').value.trim();
    if (id !== '') body.set('id', id);
    if (byId<HTMLInputElement>('publish-private').checked) body.set('private', 'on');
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const token = tokenInput.value.trim();
    if (token !== '') headers.authorization = `Bearer ${token}`;
    publishResult.dataset.state = 'pending';
    publishResult.textContent = 'Publishing…';
    try {
      const response = await fetch(config.hubPath, { method: 'POST', headers, body });
      const text = (await response.text()).trim();
      publishResult.dataset.state = response.ok ? 'ok' : 'error';
      publishResult.textContent = response.ok
        ? `Published as ${text}`
        : `Refused: ${response.status} ${text}`;
    } catch {
      publishResult.dataset.state = 'error';
      publishResult.textContent = 'The hub cannot be reached.';
    }
  });
}
