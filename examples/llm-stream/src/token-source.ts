/**
 * Where a reply's tokens come from: given the prompt, an async sequence of text pieces. It
 * must stop (throw or return) soon after `signal` aborts: that is how an abandoned reply stops
 * costing upstream tokens.
 */
export type TokenSource = (prompt: string, signal: AbortSignal) => AsyncIterable<string>;

export interface DescribedTokenSource {
  tokens: TokenSource;
  /** Said to the page before the first token, so nobody mistakes a canned text for a model. */
  description: string;
}

/** A failure of the upstream that the reader should see, in one line. */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
}
