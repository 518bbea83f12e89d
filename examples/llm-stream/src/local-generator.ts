import { setTimeout as delay } from 'node:timers/promises';
import type { DescribedTokenSource } from './token-source.js';

/**
 * A stand-in for a language model, used when no OPENAI_BASE_URL is configured: it streams a
 * fixed text word by word at a model's pace, and says plainly what it is.
 */
export function localGenerator(options: { delayMs?: number } = {}): DescribedTokenSource {
  const delayMs = options.delayMs ?? 45;
  return {
    description: 'local text generator (not a language model; set OPENAI_BASE_URL to use one)',
    async *tokens(prompt, signal) {
      for (const token of localReply(prompt).split(/(?<=\s)/)) {
        await delay(delayMs, undefined, { signal });
        yield token;
      }
    },
  };
}

/** The whole text the local generator streams for a prompt. */
export function localReply(prompt: string): string {
  const quoted = prompt.length > 200 ? `${prompt.slice(0, 200)}…` : prompt;
  return (
    'This reply comes from the local text generator of the llm-stream example, not from a ' +
    'language model. Set OPENAI_BASE_URL (and OPENAI_API_KEY) to stream replies from an ' +
    `OpenAI-compatible API instead. You wrote: "${quoted}". Each word you see arrived as its ` +
    'own Server-Sent Event, the way a model streams its tokens. Reload the page while it is ' +
    'still writing: the reply continues where it stopped, because the page reconnects with ' +
    'the id of the last event it saw, and the server replays what came after it instead of ' +
    'asking the model again. Close the page, and the server stops generating a few seconds ' +
    'later, when nobody has come back for the rest.'
  );
}
