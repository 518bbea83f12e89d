import { createHash } from 'node:crypto';
import { type DashboardConfig, dashboardMain } from './dashboard-script.js';
import { DASHBOARD_STYLE } from './dashboard-style.js';

export interface DashboardOptions {
  /** The Mercure endpoint, e.g. `/.well-known/mercure`. */
  hubPath: string;
  /** The SSE stream of `event: stats`, e.g. `/stats`. */
  statsPath: string;
  /** Prefilled in the publish form; only in development mode. */
  publisherToken?: string | undefined;
  /** Shown in the page header. Default "Tidings hub". */
  title?: string;
}

// The script is static (configuration travels in a JSON data block), so its hash — and the
// page's Content-Security-Policy — never change.
const SCRIPT = `(${String(dashboardMain)})(JSON.parse(document.getElementById('tidings-config').textContent));`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * A Content-Security-Policy for the dashboard page: only its own inline script and style run,
 * and it talks only to its own origin (the hub and stats paths).
 */
export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(DASHBOARD_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Escapes text for HTML content and quoted attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside `<script type="application/json">`: no `<` (so no `</script>` or
 * `<!--`), and no U+2028/U+2029 (line terminators to older JavaScript parsers).
 */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * The dashboard served at `/`: one self-contained HTML document (inline CSS and JS, no
 * framework, no build step) to subscribe to a selector and watch events arrive, publish an
 * update, and watch live counters fed over SSE from `statsPath`. Every value given here is
 * escaped for where it lands.
 */
export function renderDashboard(options: DashboardOptions): string {
  const config: DashboardConfig = {
    hubPath: options.hubPath,
    statsPath: options.statsPath,
    publisherToken: options.publisherToken ?? null,
  };
  const title = escapeHtml(options.title ?? 'Tidings hub');
  const hubPath = escapeHtml(options.hubPath);
  const statsPath = escapeHtml(options.statsPath);
  const tokenHint = options.publisherToken
    ? 'prefilled with the development token'
    : 'a JWT with a mercure.publish claim';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<header>
  <h1>${title}</h1>
  <span class="subtitle">Mercure hub · <code>${hubPath}</code></span>
  <span class="live" id="live" data-state="down" role="status"><span class="dot" aria-hidden="true"></span><span id="live-text">connecting…</span></span>
</header>
<dl class="stats" aria-label="Live counters">
  <div class="stat"><dt>Connections</dt><dd id="stat-connections">–</dd></div>
  <div class="stat"><dt>Subscriptions</dt><dd id="stat-subscriptions">–</dd></div>
  <div class="stat"><dt>Events / s</dt><dd><span id="stat-eventsPerSecond">–</span><svg class="spark" viewBox="0 0 100 32" preserveAspectRatio="none" aria-hidden="true"><line class="baseline" x1="0" y1="31" x2="100" y2="31"></line><polyline id="spark-line" points=""></polyline></svg></dd></div>
  <div class="stat"><dt>Published</dt><dd id="stat-published">–</dd></div>
  <div class="stat"><dt>Delivered</dt><dd id="stat-delivered">–</dd></div>
  <div class="stat"><dt>Uptime</dt><dd id="stat-uptimeSeconds">–</dd></div>
</dl>
<main>
  <section aria-labelledby="subscribe-title">
    <h2 id="subscribe-title">Subscribe</h2>
    <form id="subscribe-form">
      <label for="subscribe-topics">Topic selectors <span class="hint">— one per line: exact topics, URI templates or *</span></label>
      <textarea id="subscribe-topics" rows="2" spellcheck="false">https://example.com/books/{id}</textarea>
      <div class="row">
        <div>
          <label for="subscribe-token">Subscriber token <span class="hint">— optional</span></label>
          <input type="text" id="subscribe-token" autocomplete="off" spellcheck="false" placeholder="a JWT, for private updates">
        </div>
        <div>
          <label for="subscribe-types">More event types <span class="hint">— optional</span></label>
          <input type="text" id="subscribe-types" autocomplete="off" spellcheck="false" placeholder="e.g. created, deleted">
        </div>
      </div>
      <label class="check"><input type="checkbox" id="subscribe-history"><span>Replay the history first <span class="hint">— Last-Event-ID: earliest</span></span></label>
      <div class="actions">
        <button type="submit" id="subscribe-button">Subscribe</button>
        <span class="status" id="subscribe-status" data-state="idle" role="status">Not subscribed.</span>
      </div>
    </form>
    <div class="events-head">
      <h2 id="events-title">Events</h2>
      <span class="status"><span id="received-count">0 received</span> <button type="button" class="secondary small" id="clear-events">Clear</button></span>
    </div>
    <ul class="events" id="events" role="log" aria-labelledby="events-title"><li class="empty">Nothing yet. Subscribe, then publish an update.</li></ul>
  </section>
  <section aria-labelledby="publish-title">
    <h2 id="publish-title">Publish</h2>
    <form id="publish-form">
      <label for="publish-topics">Topic <span class="hint">— the first line is canonical, more lines are alternates</span></label>
      <textarea id="publish-topics" rows="2" spellcheck="false" required>https://example.com/books/1</textarea>
      <label for="publish-data">Data</label>
      <textarea id="publish-data" rows="5" spellcheck="false">{"title": "Hello from Tidings"}</textarea>
      <div class="row">
        <div>
          <label for="publish-type">Event type <span class="hint">— optional</span></label>
          <input type="text" id="publish-type" autocomplete="off" spellcheck="false" placeholder="message">
        </div>
        <div>
          <label for="publish-id">Id <span class="hint">— optional, not starting with #</span></label>
          <input type="text" id="publish-id" autocomplete="off" spellcheck="false" placeholder="generated by the hub">
        </div>
      </div>
      <label for="publish-token">Publisher token <span class="hint">— ${tokenHint}</span></label>
      <input type="text" id="publish-token" autocomplete="off" spellcheck="false">
      <label class="check"><input type="checkbox" id="publish-private"><span>Private <span class="hint">— only for subscribers whose token's mercure.subscribe claim matches</span></span></label>
      <div class="actions">
        <button type="submit" id="publish-button">Publish</button>
      </div>
      <p class="result" id="publish-result" role="status" aria-live="polite"></p>
    </form>
  </section>
</main>
<footer>Hub endpoint <code>${hubPath}</code> · live counters from <code>${statsPath}</code></footer>
<script type="application/json" id="tidings-config">${jsonForScript(config)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
