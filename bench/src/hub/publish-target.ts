/** How the publisher process reaches a hub: where to POST and how to shape one update. */
export interface PublishTarget {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  /** `mercure`: a form with `topic` and `data`; `raw`: the data is the whole body (nchan). */
  format: 'mercure' | 'raw';
  topic: string;
}

export type PublisherRequest =
  | { op: 'publish'; rate: number; durationMs: number }
  | { op: 'publish-marker'; marker: string };

export interface PublisherResult {
  published: number;
  failed: number;
  /** Status codes or error codes of failed publishes, and how often each happened. */
  failures: Record<string, number>;
  elapsedMs: number;
}
