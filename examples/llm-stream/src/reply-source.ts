import type { StreamSource } from '@tidings/server';
import type { DescribedTokenSource } from './token-source.js';

/**
 * A reply as a resumable stream's source: a `start` event (the generation id and where tokens
 * come from, so nobody mistakes a canned text for a model), then one `token` event per token.
 * The library appends `done`, `failed` (reason) or `stopped` (reason) at the end.
 */
export function replySource(
  generation: string,
  prompt: string,
  upstream: DescribedTokenSource,
): StreamSource {
  return async function* (signal) {
    yield {
      type: 'start',
      data: JSON.stringify({ generation, source: upstream.description }),
    };
    for await (const token of upstream.tokens(prompt, signal)) yield { type: 'token', data: token };
  };
}
