/**
 * The dashboard's stylesheet: system fonts, a light and a dark palette (every text colour at
 * least 4.5:1 against its background, WCAG AA), visible focus, no motion when reduced motion
 * is asked for.
 */
export const DASHBOARD_STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --panel: #ffffff; --text: #1b1f24; --muted: #545d68; --border: #d0d7de;
  --accent: #0b5cc9; --accent-text: #ffffff; --ok: #116329; --warn: #7d4e00; --bad: #b3261e;
  --code: #f0f2f5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --panel: #161b22; --text: #e6edf3; --muted: #9da7b3; --border: #30363d;
    --accent: #4493f8; --accent-text: #0d1117; --ok: #3fb950; --warn: #d29922; --bad: #f85149;
    --code: #0d1117;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
header { display: flex; align-items: center; gap: .75rem; flex-wrap: wrap;
  padding: .9rem 1.5rem; background: var(--panel); border-bottom: 1px solid var(--border); }
h1 { font-size: 1.15rem; margin: 0; letter-spacing: -.01em; }
h2 { font-size: 1rem; margin: 0 0 .25rem; }
.subtitle { color: var(--muted); font-size: .85rem; }
.live { margin-left: auto; display: inline-flex; align-items: center; gap: .4rem; font-size: .85rem; color: var(--muted); }
.dot { width: .6rem; height: .6rem; border-radius: 50%; background: var(--bad); }
.live[data-state="live"] .dot { background: var(--ok); }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .75rem;
  margin: 0; padding: 1rem 1.5rem; }
.stat { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: .55rem .8rem; }
.stat dt { font-size: .72rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.stat dd { margin: 0; font-size: 1.45rem; font-weight: 650; font-variant-numeric: tabular-nums;
  display: flex; align-items: center; justify-content: space-between; gap: .5rem; }
.spark { width: 5.5rem; height: 1.6rem; }
.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.spark .baseline { stroke: var(--border); stroke-width: 1; vector-effect: non-scaling-stroke; }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); align-items: start; gap: 1rem; padding: 0 1.5rem 1.5rem; }
@media (min-width: 901px) {
  /* The spanning panels' extra height goes below the panels beside them, not between them. */
  main { grid-template-rows: auto 1fr auto 1fr; grid-template-areas: "settings subscribe" "publish subscribe" "subscriptions token" "selector token"; }
  #settings { grid-area: settings; } #subscribe { grid-area: subscribe; } #publish { grid-area: publish; }
  #active-subscriptions { grid-area: subscriptions; } #token-helper { grid-area: token; } #selector-tester { grid-area: selector; }
}
@media (max-width: 900px) { main { grid-template-columns: minmax(0, 1fr); } }
section { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 1rem 1.1rem; }
label { display: block; font-weight: 600; font-size: .85rem; margin: .7rem 0 .25rem; }
.hint { font-weight: 400; color: var(--muted); }
input[type="text"], textarea, select { width: 100%; padding: .45rem .55rem; border: 1px solid var(--border);
  border-radius: 6px; background: var(--bg); color: var(--text);
  font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
textarea { resize: vertical; min-height: 4.5rem; }
.row { display: flex; gap: .75rem; }
.row > * { flex: 1; min-width: 0; display: flex; flex-direction: column; justify-content: flex-end; }
@media (max-width: 520px) { .row { flex-direction: column; gap: 0; } }
.check { display: flex; align-items: baseline; gap: .5rem; font-weight: 400; margin-top: .8rem; }
.check input { margin: 0; flex: none; position: relative; top: .1rem; }
.actions { display: flex; align-items: center; gap: .6rem; margin-top: .9rem; flex-wrap: wrap; }
button { font: inherit; font-weight: 600; font-size: .9rem; padding: .45rem 1rem; border-radius: 6px;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-text); cursor: pointer; }
button.secondary { background: transparent; color: var(--text); border-color: var(--border); }
button.small { font-size: .78rem; padding: .15rem .6rem; margin-left: .5rem; }
button:hover { filter: brightness(1.08); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.status { font-size: .85rem; color: var(--muted); }
.status[data-state="open"], .result[data-state="ok"] { color: var(--ok); }
.status[data-state="reconnecting"] { color: var(--warn); }
.status[data-state="closed"], .result[data-state="error"] { color: var(--bad); }
.result { font-size: .85rem; margin: .6rem 0 0; min-height: 1.3rem; overflow-wrap: anywhere; }
.events-head { display: flex; align-items: baseline; justify-content: space-between; margin-top: 1rem; }
.events-head .status { display: flex; align-items: center; }
.events { list-style: none; margin: .4rem 0 0; padding: 0; max-height: 30rem; overflow: auto;
  border-top: 1px solid var(--border); }
.events li { padding: .5rem 0; border-bottom: 1px solid var(--border); }
.events .empty { color: var(--muted); font-size: .85rem; }
.meta { display: flex; flex-wrap: wrap; gap: .35rem .9rem; font-size: .78rem; color: var(--muted); }
.meta b { color: var(--text); font-weight: 600; }
pre { margin: .3rem 0 0; padding: .45rem .55rem; border-radius: 5px; background: var(--code);
  white-space: pre-wrap; overflow-wrap: anywhere; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
fieldset { border: 0; padding: 0; margin: .7rem 0 0; min-width: 0; }
legend { font-weight: 600; font-size: .85rem; padding: 0; }
fieldset.choice .check { margin-top: .3rem; }
fieldset.mint { border-top: 1px solid var(--border); margin-top: 1rem; padding-top: .4rem; }
.inline { display: flex; gap: .5rem; }
.inline input { flex: 1; min-width: 0; }
.inline button { flex: none; }
section > .hint { font-size: .82rem; margin: 0; }
.links, .subscriptions { list-style: none; margin: .4rem 0 0; padding: 0; font-size: .82rem; max-height: 16rem; overflow: auto; }
.links li, .subscriptions li { padding: .3rem 0; border-bottom: 1px solid var(--border); overflow-wrap: anywhere; }
.claims:empty { display: none; }
.result:empty { display: none; }
.result[data-state="idle"] { display: none; }
.latency { margin: 0 1.5rem 1rem; }
.latency-head { display: flex; align-items: baseline; justify-content: space-between; gap: 1rem; flex-wrap: wrap; }
.latency .status { margin: 0 0 .4rem; font-variant-numeric: tabular-nums; }
.legend { font-size: .8rem; color: var(--muted); display: inline-flex; align-items: center; gap: .35rem; }
.key { display: inline-block; width: 1rem; height: 3px; border-radius: 2px; margin-left: .4rem; }
.key.p50, polyline.p50 { background: var(--accent); stroke: var(--accent); }
.key.p99, polyline.p99 { background: var(--warn); stroke: var(--warn); }
.graph { position: relative; }
.graph .axis { position: absolute; top: 0; left: .2rem; font-size: .7rem; color: var(--muted); }
#latency-graph { display: block; width: 100%; height: 6rem; }
#latency-graph polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; stroke-linejoin: round; }
#latency-graph .baseline { stroke: var(--border); stroke-width: 1; vector-effect: non-scaling-stroke; }
@media (max-width: 520px) {
  header, .stats { padding-left: .8rem; padding-right: .8rem; }
  main { padding: 0 .8rem 1rem; }
  .latency { margin: 0 .8rem 1rem; }
  .stats { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .5rem; }
  .stat dd { font-size: 1.2rem; }
  .inline { flex-direction: column; }
}
footer { padding: 0 1.5rem 1.5rem; font-size: .8rem; color: var(--muted); }
code.nowrap { white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (prefers-reduced-motion: no-preference) { .events li:first-child { animation: arrive .35s ease-out; } }
@keyframes arrive { from { background: color-mix(in srgb, var(--accent) 18%, transparent); } to { background: transparent; } }
`;
