import { createHash } from 'node:crypto';
import { ClientModules } from './client-modules.js';
import { type DashboardConfig, dashboardMain } from './dashboard-script.js';
import { DASHBOARD_STYLE } from './dashboard-style.js';

export interface DashboardOptions {
  /** The Mercure endpoint, e.g. `/.well-known/mercure`. */
  hubPath: string;
  /** The SSE stream of `event: stats`, e.g. `/stats`. */
  statsPath: string;
  /** Prefilled as the token in the settings; only in development mode. */
  publisherToken?: string | undefined;
  /** Offer the token helper's "mint" (development mode, where the hub holds the secret). */
  mint?: boolean;
  /** The cookie the hub reads a token from. Default `mercureAuthorization`. */
  cookieName?: string;
  /** Shown in the page header. Default "Tidings hub". */
  title?: string;
}

// The script is static (configuration travels in a JSON data block), so its hash never
// changes; the import map's changes only with the client modules it names.
const SCRIPT = `import { connect } from '@tidings/client';
(${String(dashboardMain)})(JSON.parse(document.getElementById('tidings-config').textContent), connect);`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

function importMapText(): string {
  return JSON.stringify(ClientModules.load().importMap());
}

/**
 * The Content-Security-Policy of the dashboard page: only its own inline script, its import
 * map and the client modules it names run (no `eval`, no inline handlers), DOM sinks take no
 * strings (Trusted Types, none defined: the page writes text only), and it may talk to any
 * hub URL the operator types into its settings.
 */
export function dashboardContentSecurityPolicy(): string {
  return [
    "default-src 'none'",
    `script-src 'self' ${sha256(SCRIPT)} ${sha256(importMapText())}`,
    `style-src ${sha256(DASHBOARD_STYLE)}`,
    "connect-src 'self' http: https:",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

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
 * The dashboard served at `/`: one HTML document (inline CSS and a module script, no framework,
 * no build step) that subscribes through `@tidings/client` and shows every event, publishes,
 * watches the active subscriptions, finds a hub by discovery, explains tokens and selectors,
 * and draws live counters and latency fed over SSE from `statsPath`. Every value given here is
 * escaped for where it lands.
 */
export function renderDashboard(options: DashboardOptions): string {
  const config: DashboardConfig = {
    hubPath: options.hubPath,
    statsPath: options.statsPath,
    subscriptionsPath: `${options.hubPath}/subscriptions`,
    tokenPath: '/admin/token',
    mintPath: options.mint ? '/admin/token/mint' : null,
    selectorPath: '/admin/selector',
    publisherToken: options.publisherToken ?? null,
    cookieName: options.cookieName ?? 'mercureAuthorization',
  };
  const title = escapeHtml(options.title ?? 'Tidings hub');
  const hubPath = escapeHtml(options.hubPath);
  const statsPath = escapeHtml(options.statsPath);
  const tokenHint = options.publisherToken
    ? 'prefilled with the development token'
    : 'a JWT with mercure.publish / mercure.subscribe claims';
  const mint = options.mint
    ? `<fieldset class="mint"><legend>Mint with the development secret <span class="hint">— selectors space-separated</span></legend>
      <div class="row">
        <div><label for="mint-publish">Publish selectors</label><input type="text" id="mint-publish" value="*" autocomplete="off" spellcheck="false"></div>
        <div><label for="mint-subscribe">Subscribe selectors</label><input type="text" id="mint-subscribe" value="*" autocomplete="off" spellcheck="false"></div>
        <div><label for="mint-minutes">Expires in <span class="hint">— minutes</span></label><input type="text" id="mint-minutes" inputmode="numeric" value="60" autocomplete="off"></div>
      </div>
      <div class="actions"><button type="button" class="secondary" id="mint-button">Mint</button></div>
    </fieldset>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${DASHBOARD_STYLE}</style>
<script type="importmap">${importMapText()}</script>
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
<section class="latency" aria-labelledby="latency-title">
  <div class="latency-head"><h2 id="latency-title">Publish-to-write latency</h2><span class="legend"><span class="key p50"></span>p50 <span class="key p99"></span>p99</span></div>
  <p class="status" id="latency-text" role="status">Waiting for the first numbers…</p>
  <div class="graph"><span class="axis" id="latency-max">1 ms</span>
  <svg id="latency-graph" viewBox="0 0 100 62" preserveAspectRatio="none" role="img" aria-label="p50 and p99 latency over the last minute, one point a second"><line class="baseline" x1="0" y1="61" x2="100" y2="61"></line><polyline class="p99" id="latency-p99" points=""></polyline><polyline class="p50" id="latency-p50" points=""></polyline></svg></div>
</section>
<main>
  <section id="settings" aria-labelledby="settings-title">
    <h2 id="settings-title">Settings</h2>
    <label for="hub-url">Hub URL</label>
    <input type="text" id="hub-url" autocomplete="off" spellcheck="false">
    <label for="token">Token <span class="hint">— ${tokenHint}</span></label>
    <input type="text" id="token" autocomplete="off" spellcheck="false">
    <fieldset class="choice"><legend>Send the token as</legend>
      <label class="check"><input type="radio" name="token-transport" id="token-header" checked><span>Authorization header</span></label>
      <label class="check"><input type="radio" name="token-transport" id="token-cookie"><span>Cookie <span class="hint">— ${escapeHtml(config.cookieName)}, same site only</span></span></label>
    </fieldset>
    <form id="discover-form">
      <label for="discover-url">Discovery <span class="hint">— a resource whose Link header names its hub</span></label>
      <div class="inline"><input type="text" id="discover-url" autocomplete="off" spellcheck="false" placeholder="https://example.com/books/1"><button type="submit" class="secondary">Discover</button></div>
      <p class="result" id="discover-status" role="status"></p>
      <ul class="links" id="discovered"></ul>
    </form>
  </section>
  <section id="subscribe" aria-labelledby="subscribe-title">
    <h2 id="subscribe-title">Subscribe</h2>
    <form id="subscribe-form">
      <label for="subscribe-topics">Topic selectors <span class="hint">— one per line: exact topics, URI templates or *</span></label>
      <textarea id="subscribe-topics" rows="2" spellcheck="false">https://example.com/books/{id}</textarea>
      <label for="last-event-id">Last-Event-ID <span class="hint">— replay what came after it; follows the events received</span></label>
      <div class="inline"><input type="text" id="last-event-id" autocomplete="off" spellcheck="false" placeholder="none: live only"><button type="button" class="secondary" id="replay-earliest">Whole history</button></div>
      <div class="actions">
        <button type="submit" id="subscribe-button">Subscribe</button>
        <span class="status" id="subscribe-status" data-state="idle" role="status">Not subscribed.</span>
      </div>
    </form>
    <div class="events-head">
      <h2 id="events-title">Events <span class="hint">— every type</span></h2>
      <span class="status"><span id="received-count">0 received</span> <button type="button" class="secondary small" id="clear-events">Clear</button></span>
    </div>
    <ul class="events" id="events" role="log" aria-labelledby="events-title"><li class="empty">Nothing yet. Subscribe, then publish an update.</li></ul>
  </section>
  <section id="publish" aria-labelledby="publish-title">
    <h2 id="publish-title">Publish</h2>
    <form id="publish-form">
      <label for="publish-topics">Topic <span class="hint">— the first line is canonical, more lines are alternates</span></label>
      <textarea id="publish-topics" rows="2" spellcheck="false" required>https://example.com/books/1</textarea>
      <label for="publish-data">Data</label>
      <textarea id="publish-data" rows="4" spellcheck="false">{"title": "Hello from Tidings"}</textarea>
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
      <label class="check"><input type="checkbox" id="publish-private"><span>Private <span class="hint">— only for subscribers whose token's mercure.subscribe claim matches</span></span></label>
      <div class="actions">
        <button type="submit" id="publish-button">Publish</button>
      </div>
      <p class="result" id="publish-result" role="status" aria-live="polite"></p>
    </form>
  </section>
  <section id="active-subscriptions" aria-labelledby="subscriptions-title">
    <h2 id="subscriptions-title">Active subscriptions</h2>
    <p class="hint">From the subscriptions API, then live from subscription events (the hub needs <code class="nowrap">--subscriptions</code>; the token needs a <code>mercure.subscribe</code> claim matching them).</p>
    <div class="actions">
      <button type="button" class="secondary" id="watch-button">Watch</button>
      <span class="status" id="watch-status" data-state="idle" role="status">Not watching.</span>
      <span class="status" id="subscriptions-count"></span>
    </div>
    <ul class="subscriptions" id="subscriptions" aria-labelledby="subscriptions-title"></ul>
  </section>
  <section id="token-helper" aria-labelledby="token-title">
    <h2 id="token-title">Token helper</h2>
    <form id="token-form">
      <label for="token-input">Token <span class="hint">— decoded here, checked with the hub's keys</span></label>
      <textarea id="token-input" rows="3" spellcheck="false" placeholder="eyJ…"></textarea>
      <div class="actions"><button type="submit" id="token-button">Explain</button></div>
      ${mint}
      <p class="result" id="token-summary" role="status"></p>
      <p class="result" id="token-publisher"></p>
      <p class="result" id="token-subscriber"></p>
      <pre id="token-claims" class="claims"></pre>
    </form>
  </section>
  <section id="selector-tester" aria-labelledby="selector-title">
    <h2 id="selector-title">Topic selector tester</h2>
    <form id="selector-form">
      <label for="selector-input">Selector</label>
      <input type="text" id="selector-input" autocomplete="off" spellcheck="false" value="https://example.com/books/{id}">
      <label for="selector-kind">Read as</label>
      <select id="selector-kind">
        <option value="selector">draft-07 selector (exact, URI template or *)</option>
        <option value="exact">draft-08 match, exact</option>
        <option value="urlpattern">draft-08 match_urlpattern</option>
      </select>
      <label for="selector-topic">Topic</label>
      <input type="text" id="selector-topic" autocomplete="off" spellcheck="false" value="https://example.com/books/1">
      <div class="actions"><button type="submit" id="selector-button">Test</button></div>
      <p class="result" id="selector-result" role="status"></p>
    </form>
  </section>
</main>
<footer>Hub endpoint <code>${hubPath}</code> · live counters from <code>${statsPath}</code></footer>
<script type="application/json" id="tidings-config">${jsonForScript(config)}</script>
<script type="module">${SCRIPT}</script>
</body>
</html>
`;
}
