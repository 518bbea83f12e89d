import { readFileSync } from 'node:fs';
import type { ServerSentEvent } from '@tidings/protocol';

/** A body part: literal text, or a run of one string repeated (for long lines). */
export type BodyPart = string | { repeat: string; times: number };

export interface WptConnection {
  /** The Last-Event-ID the client sends when it opens this connection ('' = none). */
  lastEventIdBefore?: string;
  body: BodyPart[];
}

export interface WptCase {
  name: string;
  provenance: string;
  normative: boolean;
  connections: WptConnection[];
  events: ServerSentEvent[];
  retries: number[];
  lastEventId: string;
}

const fixtureUrl = new URL('../fixtures/wpt-eventsource.json', import.meta.url);

export const wptCases: WptCase[] = (
  JSON.parse(readFileSync(fixtureUrl, 'utf8')) as { cases: WptCase[] }
).cases;

/** The body parts as the strings the server wrote. */
export function bodyParts(connection: WptConnection): string[] {
  return connection.body.map((part) =>
    typeof part === 'string' ? part : part.repeat.repeat(part.times),
  );
}
