/**
 * The encoder benchmark's input: the events an LLM chat server sends, and the plain template
 * string a hand-written server would build for each. The template does no validation and does
 * not split multi-line data, which is what it costs to be safe that the comparison shows.
 */
import type { EventMessage } from '@tidings/protocol';

export function buildMessages(count: number): EventMessage[] {
  const messages: EventMessage[] = [];
  for (let i = 0; i < count; i++) {
    const content = ['Hello', ' world', '，你好', ' 😀', ' token', '.'][i % 6];
    messages.push({
      id: `msg-${i}`,
      event: i % 10 === 0 ? 'usage' : undefined,
      data: `{"choices":[{"index":0,"delta":{"content":"${content}"}}],"seq":${i}}`,
    });
  }
  return messages;
}

export function templateEvent(message: EventMessage): string {
  return message.event === undefined
    ? `id: ${message.id}\ndata: ${message.data}\n\n`
    : `id: ${message.id}\nevent: ${message.event}\ndata: ${message.data}\n\n`;
}
