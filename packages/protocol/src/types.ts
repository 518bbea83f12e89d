/**
 * An event as a client sees it after parsing: the fields of the `MessageEvent` that the
 * WHATWG EventSource dispatches.
 */
export interface ServerSentEvent {
  /** The event type: the last `event:` field of the block, or `"message"` when there was none. */
  type: string;
  /** The `data:` lines of the block joined with LF (the final LF stripped). */
  data: string;
  /**
   * The last event ID after this block: set by an `id:` field in this block or in any earlier
   * one (it persists across events and reconnects), `""` when none was ever set.
   */
  lastEventId: string;
}

/** An event to send. Every field is optional; a block with only `id` or only `retry` is valid. */
export interface EventMessage {
  /** Sent as one `data:` line per line of the text (CR, LF and CRLF all split lines). */
  data?: string;
  /** The event type (`event:` field). Must not contain CR, LF or NUL. */
  event?: string;
  /** The event ID (`id:` field). Must not contain CR, LF or NUL. `""` resets the client's last event ID. */
  id?: string;
  /** The client's reconnection time in milliseconds (`retry:` field): a non-negative integer. */
  retry?: number;
}
