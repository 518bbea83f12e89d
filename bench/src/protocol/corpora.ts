/**
 * The streams the protocol benchmark parses. Each is built from a fixed seed, so every run (and
 * every machine) parses the same bytes. Each shape comes twice: (a) to (c) carry non-ASCII text,
 * as the project's first users write it; (d) to (f) are pure ASCII, as most English-language
 * and machine-made streams are. The two behave differently: V8 keeps ASCII text in one-byte
 * strings and decodes ASCII bytes several times faster, so a cost that non-ASCII decoding
 * hides in (a) to (c) shows in (d) to (f).
 */

export const CORPUS_KEYS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
export type CorpusKey = (typeof CORPUS_KEYS)[number];

export interface Corpus {
  key: CorpusKey;
  /** Whether every character is ASCII (checked when the corpora are built). */
  ascii: boolean;
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
  return untilTargetSize((i) => {
    const content = pick(random, TOKENS);
    return (
      `data: {"id":"chatcmpl-8Zq3${(i >> 8).toString(36)}","object":"chat.completion.chunk",` +
      `"created":${1718000000 + (i >> 6)},"model":"gpt-4o-mini","choices":[{"index":0,` +
      `"delta":{"content":"${content}"},"finish_reason":null}]}\n\n`
    );
  }, 'data: [DONE]\n\n');
}

// The same kind of tokens, in English only: what most LLM streams carry.
const ASCII_TOKENS = TOKENS.filter((token) => isAscii(token));

/**
 * (d) An ASCII LLM stream as OpenAI's chat completions API sends it: one
 * `chat.completion.chunk` JSON object of about 140 characters per event, LF line endings.
 */
function asciiLlmStream(): string {
  const random = seededRandom(4);
  return untilTargetSize((i) => {
    // Quotes escaped, so that every event's data is valid JSON, as OpenAI's is.
    const content = pick(random, ASCII_TOKENS).replaceAll('"', '\\"');
    return (
      `data: {"id":"chatcmpl-${(i >> 9).toString(36)}","object":"chat.completion.chunk",` +
      `"created":${1718000000 + (i >> 6)},"model":"gpt-4o","choices":[{"index":0,` +
      `"delta":{"content":"${content}"}}]}\n\n`
    );
  }, 'data: [DONE]\n\n');
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

const ASCII_WORDS = WORDS.filter((word) => isAscii(word));

/** (b) and (e): large multi-line events, 4 KiB to 64 KiB of data each, LF line endings. */
function largeMultiLineEvents(seed: number, words: readonly string[]): string {
  const random = seededRandom(seed);
  return untilTargetSize((i) => {
    const eventSize = 4096 + Math.floor(random() * 60 * 1024);
    let event = `event: document\nid: doc-${i}\n`;
    let dataSize = 0;
    while (dataSize < eventSize) {
      let line = '';
      const lineLength = 40 + Math.floor(random() * 100);
      while (line.length < lineLength) line += (line === '' ? '' : ' ') + pick(random, words);
      event += `data: ${line}\n`;
      dataSize += line.length + 1;
    }
    return `${event}\n`;
  });
}

/**
 * (c) and (f): CRLF line endings with comments, ids, event names and retry fields. `note` is
 * the text of every fourth heartbeat comment and of a `status` field in the data.
 */
function crlfWithEverything(seed: number, notes: readonly string[]): string {
  const random = seededRandom(seed);
  const names = ['price', 'trade', 'quote', 'status'] as const;
  return untilTargetSize((i) => {
    let event = '';
    if (i % 4 === 0) event += `: heartbeat ${1718000000 + i}\r\n`;
    if (i % 25 === 0) event += `retry: ${1000 + Math.floor(random() * 9000)}\r\n`;
    event += `id: ${1_000_000 + i}\r\nevent: ${pick(random, names)}\r\n`;
    const lines = 1 + Math.floor(random() * 3);
    for (let l = 0; l < lines; l++) {
      event +=
        `data: {"symbol":"${pick(random, ['ACME', 'INIT', 'TIDE', 'SSE'])}",` +
        `"price":${(random() * 1000).toFixed(2)},"size":${Math.floor(random() * 500)},` +
        `"venue":"${pick(random, ['XNAS', 'XNYS', 'BATS'])}","seq":${i * 3 + l}` +
        `${notes.length === 0 ? '' : `,"status":"${pick(random, notes)}"`}}\r\n`;
    }
    return `${event}\r\n`;
  });
}

// Market notes for (f), the non-ASCII twin of (c).
const NOTES = ['开盘', '收盘', '暂停交易', 'Börse geöffnet', 'clôture', '📈'] as const;

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Events made by `part(i)` for i = 0, 1, ... until the stream is large enough, then `last`. */
function untilTargetSize(part: (i: number) => string, last = ''): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < TARGET_CHARS; i++) {
    const text = part(i);
    parts.push(text);
    size += text.length;
  }
  parts.push(last);
  return parts.join('');
}

export function buildCorpora(): Corpus[] {
  const corpora: Corpus[] = [
    { key: 'a', title: 'LLM token stream', ascii: false, text: llmTokenStream() },
    {
      key: 'b',
      title: 'large multi-line events',
      ascii: false,
      text: largeMultiLineEvents(2, WORDS),
    },
    {
      key: 'c',
      title: 'ASCII CRLF + comments, ids, events, retry',
      ascii: true,
      text: crlfWithEverything(3, []),
    },
    { key: 'd', title: 'ASCII LLM stream (OpenAI chunks)', ascii: true, text: asciiLlmStream() },
    {
      key: 'e',
      title: 'ASCII large multi-line events',
      ascii: true,
      text: largeMultiLineEvents(5, ASCII_WORDS),
    },
    {
      key: 'f',
      title: 'non-ASCII CRLF + comments, ids, events, retry',
      ascii: false,
      text: crlfWithEverything(6, NOTES),
    },
  ];
  // The labels promise it: a corpus is ASCII, or it has non-ASCII text to decode.
  for (const corpus of corpora) {
    if (isAscii(corpus.text) !== corpus.ascii) {
      throw new Error(`corpus ${corpus.key} is ${corpus.ascii ? 'not ' : ''}pure ASCII`);
    }
  }
  return corpora;
}
