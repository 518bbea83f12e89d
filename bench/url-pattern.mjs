// URL Pattern matching: @tidings/hub's linear-time matcher against the runtime's URLPattern
// (Node 22+; Ada's implementation, which compiles to backtracking RegExps), interleaved in
// one process on the same inputs. Plain cases (one named segment, ASCII) beside clever ones
// (non-ASCII topics, several wildcards) and a pathological pattern on a long near miss.
//   npm run build && npx --yes node@24 bench/url-pattern.mjs
import { compileUrlPattern } from '../packages/hub/dist/url-pattern-matcher.js';

const base = 'https://hub.example/.well-known/mercure';
const cases = [
  ['plain: books/:id, hit', 'https://example.com/books/:id', 'https://example.com/books/123'],
  ['plain: books/:id, miss', 'https://example.com/books/:id', 'https://example.com/authors/1'],
  ['unicode topic', 'https://example.com/caf\u00e9/:id', 'https://example.com/café/4711'],
  ['wildcards', 'https://*.example.com/{:lang}?/books/*', 'https://eu.example.com/fr/books/1/2/3'],
  // 32 characters: at 64, URLPattern takes ~46 s for one match (Node 24.21), ours ~1 ms.
  [
    'pathological, 32-char near miss',
    'https://example.com/*a*a*a*a*a*a*a*a*b',
    `https://example.com/${'a'.repeat(32)}!`,
  ],
];
const Native = globalThis.URLPattern;
if (!Native) {
  console.error('this runtime has no URLPattern (the peer): run with Node 22 or later');
  process.exit(1);
}
const ROUNDS = 5;
function time(fn, topic, iterations) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(topic);
  return Number(process.hrtime.bigint() - start) / iterations; // ns per match
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`node ${process.version}, ${ROUNDS} interleaved rounds; ns per match (median / worst)`);
for (const [name, pattern, topic] of cases) {
  const ours = compileUrlPattern(pattern, base);
  const native = new Native(pattern, base);
  const iterations = name.startsWith('pathological') ? 1 : 200_000;
  const oursTimes = [];
  const nativeTimes = [];
  if (ours.matches(topic) !== native.test(topic, base))
    throw new Error(`results differ on ${name}`);
  for (let round = 0; round < ROUNDS; round++) {
    oursTimes.push(time((t) => ours.matches(t), topic, iterations));
    nativeTimes.push(time((t) => native.test(t, base), topic, iterations));
  }
  const o = median(oursTimes);
  const n = median(nativeTimes);
  console.log(
    `${name.padEnd(32)} tidings ${o.toFixed(0).padStart(9)} / ${Math.max(...oursTimes)
      .toFixed(0)
      .padStart(9)}   URLPattern ${n.toFixed(0).padStart(9)} / ${Math.max(...nativeTimes)
      .toFixed(0)
      .padStart(9)}   ratio ${(n / o).toFixed(2)}x`,
  );
}
