/**
 * Sizes and durations as people write them in flags, environment variables and transport
 * URLs: `65536`, `64KiB`, `1.5MB`; `250ms`, `30s`, `5m`, `1h`, `7d`.
 */

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** @throws RangeError naming the value and the accepted forms. */
export function parseBytes(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new RangeError(`${what}: "${text}" is not a size; write e.g. 1048576, 512KiB or 64MiB`);
  }
  return Math.floor(Number(match[1]) * unit);
}

/** Plain numbers are milliseconds. @throws RangeError naming the value and the accepted forms. */
export function parseDuration(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? (match[2] === '' ? 1 : DURATION_UNITS[match[2]!.toLowerCase()]) : undefined;
  if (!match || unit === undefined) {
    throw new RangeError(
      `${what}: "${text}" is not a duration; write e.g. 500ms, 30s, 5m, 1h or 7d`,
    );
  }
  return Math.round(Number(match[1]) * unit);
}
