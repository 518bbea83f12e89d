/**
 * The three streams the protocol benchmark parses. Each is built from a fixed seed, so every run
 * (and every machine) parses the same bytes.
 */

export interface Corpus {
  key: 'a' | 'b' | 'c';
  title: string;
  text: string;
}

const TARGET_CHARS = 4 * 1024 * 1024;

/** mulberry32: small, seeded, good enough to vary token lengths and payloads. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)]!;

// Tokens as an LLM streams them: word pieces, punctuation, Chinese characters (the project's
// first users chat in Chinese), an emoji now and then, JSON-escaped newlines.
const TOKENS = [
  ' the',
  ' model',
  ' stream',
  's',
  ' of',
  ' events',
  ',',
  '.',
  ' is',
  ' a',
  ' server',
  '-sent',
  ' token',
  ' by',
  ' token',
  ' and',
  ' it',
  ' works',
  ' fine',
  ' in',
  ' every',
  ' browser',
  '\\n',
  '\\n\\n',
  '**',
  ' `',
  'EventSource',
  '`',
  ' 你好',
  '，',
  '我们',
  '使用',
  '服务器',
  '推送',
  '事件',
  '。',
  ' 😀',
  ' café',
  ' naïve',
  '1',
  '2',
  '3',
  ':',
  ' "',
  'ok',
  '"',
] as const;

/** (a) An LLM token stream: many small `data: {json}` events, LF line endings. */
function llmTokenStream(): string {
  const random = seededRandom(1);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < TARGET_CHARS; i++) {
    const content = pick(random, TOKENS);
    const part =
      `data: {"id":"chatcmpl-8Zq3${(i >> 8).toString(36)}","object":"chat.completion.chunk",` +
      `"created":${1718000000 + (i >> 6)},"model":"gpt-4o-mini","choices":[{"index":0,` +
      `"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`;
    parts.push(part);
    size += part.length;
  }
  parts.push('data: [DONE]\n\n');
  return parts.join('');
}

const WORDS = [
  'lorem',
  'ipsum',
  'dolor',
  'sit',
  'amet',
  'consectetur',
  'adipiscing',
  'elit',
  'sed',
  'do',
  'eiusmod',
  'tempor',
  'incididunt',
  'ut',
  'labore',
  'et',
  'dolore',
  'magna',
  'aliqua',
  'const',
  'return',
  'function',
  '=>',
  '{',
  '}',
  '//',
  'stream',
  'event',
  '数据',
  '文档',
  'Ünïcode',
] as const;

/** (b) Large multi-line events, 4 KiB to 64 KiB of data each, LF line endings. */
function largeMultiLineEvents(): string {
  const random = seededRandom(2);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < TARGET_CHARS; i++) {
    const eventSize = 4096 + Math.floor(random() * 60 * 1024);
    let event = `event: document\nid: doc-${i}\n`;
    let dataSize = 0;
    while (dataSize < eventSize) {
      let line = '';
      const lineLength = 40 + Math.floor(random() * 100);
      while (line.length < lineLength) line += (line === '' ? '' : ' ') + pick(random, WORDS);
      event += `data: ${line}\n`;
      dataSize += line.length + 1;
    }
    event += '\n';
    parts.push(event);
    size += event.length;
  }
  return parts.join('');
}

/** (c) CRLF line endings with comments, ids, event names and retry fields. */
function crlfWithEverything(): string {
  const random = seededRandom(3);
  const names = ['price', 'trade', 'quote', 'status'] as const;
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < TARGET_CHARS; i++) {
    let event = '';
    if (i % 4 === 0) event += `: heartbeat ${1718000000 + i}\r\n`;
    if (i % 25 === 0) event += `retry: ${1000 + Math.floor(random() * 9000)}\r\n`;
    event += `id: ${1_000_000 + i}\r\nevent: ${pick(random, names)}\r\n`;
    const lines = 1 + Math.floor(random() * 3);
    for (let l = 0; l < lines; l++) {
      event +=
        `data: {"symbol":"${pick(random, ['ACME', 'INIT', 'TIDE', 'SSE'])}",` +
        `"price":${(random() * 1000).toFixed(2)},"size":${Math.floor(random() * 500)},` +
        `"venue":"${pick(random, ['XNAS', 'XNYS', 'BATS'])}","seq":${i * 3 + l}}\r\n`;
    }
    event += '\r\n';
    parts.push(event);
    size += event.length;
  }
  return parts.join('');
}

export function buildCorpora(): Corpus[] {
  return [
    { key: 'a', title: 'LLM token stream', text: llmTokenStream() },
    { key: 'b', title: 'large multi-line events', text: largeMultiLineEvents() },
    { key: 'c', title: 'CRLF + comments, ids, events, retry', text: crlfWithEverything() },
  ];
}
