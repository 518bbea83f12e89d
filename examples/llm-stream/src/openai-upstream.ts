import { EventStreamParserStream } from '@tidings/protocol';
import { type DescribedTokenSource, UpstreamError } from './token-source.js';

export interface OpenAiOptions {
  /** The API root, e.g. `https://api.openai.com/v1` or a local server's `http://127.0.0.1:8080/v1`. */
  baseUrl: string;
  apiKey?: string;
  model: string;
}

interface ChatCompletionChunk {
  choices?: { delta?: { content?: string | null } }[];
  error?: { message?: string };
}

/**
 * Tokens from an OpenAI-compatible chat completions API (`stream: true`), whose answer is
 * itself a Server-Sent Events stream: parsed with @tidings/protocol, one `delta.content` per
 * token, until `data: [DONE]`. Aborting the signal aborts the upstream request.
 */
export function openAiUpstream(options: OpenAiOptions): DescribedTokenSource {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  return {
    description: `${options.model} (OpenAI-compatible API at ${new URL(url).origin})`,
    async *tokens(prompt, signal) {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: options.model,
          stream: true,
          messages: [{ role: 'user', content: prompt }],
        }),
        signal,
      });
      if (!response.ok) {
        const body = (await response.text().catch(() => '')).replace(/\s+/g, ' ').slice(0, 200);
        throw new UpstreamError(
          `the model API answered ${response.status} ${response.statusText}${body ? `: ${body}` : ''}`,
        );
      }
      const type = response.headers.get('content-type') ?? '';
      if (!type.startsWith('text/event-stream') || response.body === null) {
        await response.body?.cancel();
        throw new UpstreamError(
          `the model API answered ${type || 'no content type'}, not an event stream`,
        );
      }

      const events = response.body.pipeThrough(new EventStreamParserStream()).getReader();
      try {
        for (;;) {
          const { done, value: event } = await events.read();
          if (done) throw new UpstreamError('the model API ended the stream before [DONE]');
          // OpenAI ends the stream with a literal `data: [DONE]`.
          if (event.data === '[DONE]') return;
          let chunk: ChatCompletionChunk;
          try {
            chunk = JSON.parse(event.data) as ChatCompletionChunk;
          } catch {
            throw new UpstreamError(
              `the model API sent an event that is not JSON: ${event.data.slice(0, 80)}`,
            );
          }
          if (chunk.error !== undefined) {
            throw new UpstreamError(`the model API failed: ${chunk.error.message ?? 'no message'}`);
          }
          const content = chunk.choices?.[0]?.delta?.content;
          if (typeof content === 'string' && content !== '') yield content;
        }
      } finally {
        // Stops the upstream body when we stop early (abort, error, or a consumer that left).
        events.cancel().catch(() => undefined);
      }
    },
  };
}

/** The token source the environment asks for: OPENAI_BASE_URL set means the API. */
export function upstreamFromEnvironment(
  env: NodeJS.ProcessEnv,
  fallback: () => DescribedTokenSource,
): DescribedTokenSource {
  const baseUrl = env.OPENAI_BASE_URL;
  if (baseUrl === undefined || baseUrl === '') return fallback();
  return openAiUpstream({
    baseUrl,
    ...(env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY } : {}),
    model: env.OPENAI_MODEL || 'gpt-4o-mini',
  });
}
