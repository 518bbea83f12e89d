import type { BenchResult } from './bench-result.js';

/** The summary `tidings bench` prints when it is done: plain text, the same in a terminal or a log. */
export function textReport(result: BenchResult): string {
  const { subscribers, publishing, deliveries, latency, options } = result;
  const lines = [
    `tidings bench: ${result.hub} topic ${result.topic}`,
    `  subscribers  ${subscribers.opened} of ${subscribers.requested} open` +
      (subscribers.refused > 0
        ? `, ${subscribers.refused} refused (${reasons(subscribers.refusedReasons)})`
        : '') +
      (subscribers.closedByHub > 0 ? `, ${subscribers.closedByHub} closed by the hub` : ''),
    `  published    ${publishing.published} updates at ${options.rate}/s over up to ${options.publishConnections} connections` +
      (publishing.failed > 0
        ? `, ${publishing.failed} failed (${reasons(publishing.failures)})`
        : ''),
    `  deliveries   ${count(deliveries.perSecond)}/s; ${deliveries.received} of ${deliveries.expected} received, ` +
      `${deliveries.dropped} dropped, ${deliveries.duplicated} duplicated, ${deliveries.outOfOrder} out of order` +
      (deliveries.overtaken > 0
        ? ` (${deliveries.overtaken} more overtaken by an update published at the same time: not the hub's doing)`
        : ''),
    `  latency      p50 ${ms(latency.p50Ms)}  p90 ${ms(latency.p90Ms)}  p99 ${ms(latency.p99Ms)}  max ${ms(latency.maxMs)}  (${latency.samples} samples, after ${options.warmupMs / 1000}s warm-up)`,
  ];
  if (latency.bars.length > 0) {
    const widest = Math.max(...latency.bars.map((bar) => bar.count));
    for (const bar of latency.bars) {
      const width = Math.round((bar.count / widest) * 40);
      lines.push(
        `  ≤ ${ms(bar.upToMs).padStart(9)}  ${'█'.repeat(width).padEnd(40)}  ${bar.count}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Milliseconds, two significant decimals below 10 ms. */
export function ms(value: number | null): string {
  if (value === null) return '—';
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

export function count(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

function reasons(byReason: Record<string, number>): string {
  return Object.entries(byReason)
    .map(([reason, n]) => `${reason}: ${n}`)
    .join(', ');
}
