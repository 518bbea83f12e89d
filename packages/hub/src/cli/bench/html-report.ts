import type { BenchResult } from './bench-result.js';
import { count, ms } from './text-report.js';

const WIDTH = 720;
const HEIGHT = 260;
const MARGIN = { top: 20, right: 20, bottom: 50, left: 60 };

/**
 * One HTML file that needs nothing else: styles inline, the chart an inline SVG, no script,
 * no link, no font or image fetched. It opens from disk, from an e-mail attachment, offline.
 */
export function htmlReport(result: BenchResult): string {
  const { subscribers, publishing, deliveries, latency, options } = result;
  const rows: [string, string][] = [
    ['hub', result.hub],
    ['topic', result.topic],
    ['started', result.startedAt],
    [
      'subscribers',
      `${subscribers.opened} of ${subscribers.requested} open, ${subscribers.refused} refused, ${subscribers.closedByHub} closed by the hub`,
    ],
    [
      'published',
      `${publishing.published} updates at ${options.rate}/s for ${options.durationMs / 1000}s (+${options.warmupMs / 1000}s warm-up) over up to ${options.publishConnections} connections, ${publishing.failed} failed`,
    ],
    ['deliveries/s', count(deliveries.perSecond)],
    [
      'received',
      `${deliveries.received} of ${deliveries.expected}: ${deliveries.dropped} dropped, ${deliveries.duplicated} duplicated, ${deliveries.outOfOrder} out of order, ${deliveries.overtaken} overtaken in flight`,
    ],
    [
      'latency',
      `p50 ${ms(latency.p50Ms)}, p90 ${ms(latency.p90Ms)}, p99 ${ms(latency.p99Ms)}, max ${ms(latency.maxMs)} (${latency.samples} samples)`,
    ],
    [
      'machine',
      `${result.machine.cpuModel}, ${result.machine.cpus} CPUs, Node ${result.machine.node}, ${result.machine.platform}`,
    ],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tidings bench: ${escapeHtml(result.hub)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 760px; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th { text-align: left; padding: 2px 16px 2px 0; color: #555; font-weight: normal; vertical-align: top; }
td { padding: 2px 0; }
svg text { font: 11px system-ui, sans-serif; fill: #444; }
</style>
</head>
<body>
<h1>tidings bench</h1>
<table>
${rows.map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`).join('\n')}
</table>
<h2>Publish-to-receive latency</h2>
${latencyChart(result)}
</body>
</html>
`;
}

/** Bars of deliveries per latency range, percentiles marked. */
function latencyChart(result: BenchResult): string {
  const bars = result.latency.bars;
  if (bars.length === 0) return '<p>No deliveries were measured.</p>';
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / bars.length;
  const highest = Math.max(...bars.map((bar) => bar.count));
  const parts: string[] = [];
  bars.forEach((bar, i) => {
    const height = (bar.count / highest) * plotHeight;
    const x = MARGIN.left + i * slot;
    const y = MARGIN.top + plotHeight - height;
    parts.push(
      `<rect x="${x + 2}" y="${y.toFixed(1)}" width="${Math.max(1, slot - 4).toFixed(1)}" height="${height.toFixed(1)}" fill="#4a7bd0"><title>≤ ${escapeHtml(ms(bar.upToMs))}: ${bar.count}</title></rect>`,
      `<text x="${x + slot / 2}" y="${MARGIN.top + plotHeight + 14}" text-anchor="middle">${escapeHtml(ms(bar.upToMs).replace(' ms', ''))}</text>`,
    );
  });
  // Each percentile sits in the bar whose range holds it.
  const marks: [string, number | null][] = [
    ['p50', result.latency.p50Ms],
    ['p90', result.latency.p90Ms],
    ['p99', result.latency.p99Ms],
  ];
  for (const [k, [name, value]] of marks.entries()) {
    if (value === null) continue;
    let i = bars.findIndex((bar) => value <= bar.upToMs);
    if (i === -1) i = bars.length - 1;
    const x = MARGIN.left + (i + 0.5) * slot;
    parts.push(
      `<line x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotHeight}" stroke="#d04a4a" stroke-dasharray="4 3"/>`,
      `<text x="${x + 3}" y="${MARGIN.top + 10 + 12 * k}" fill="#d04a4a">${name} ${escapeHtml(ms(value))}</text>`,
    );
  }
  const axisY = MARGIN.top + plotHeight;
  return `<svg width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="latency histogram">
<line x1="${MARGIN.left}" y1="${axisY}" x2="${WIDTH - MARGIN.right}" y2="${axisY}" stroke="#888"/>
<text x="${MARGIN.left - 8}" y="${MARGIN.top + 4}" text-anchor="end">${highest}</text>
<text x="${MARGIN.left - 8}" y="${axisY}" text-anchor="end">0</text>
<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 12}" text-anchor="middle">latency, up to (ms); bar height: deliveries</text>
${parts.join('\n')}
</svg>`;
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}
