/**
 * Test-side model of RFC 6570 templates: a template as data, rendered to its string form,
 * expanded with values (RFC 6570 §3.2.1, the expansion algorithm), and matched by a plain
 * reference implementation of the matching rules that the hub's matcher is checked against.
 */
import fc from 'fast-check';

export type Operator = '' | '+' | '#' | '.' | '/' | ';' | '?' | '&';
export interface VarSpec {
  name: string;
  explode?: boolean;
  prefix?: number;
}
export type Part = { literal: string } | { operator: Operator; variables: VarSpec[] };
export type Value = string | string[] | [string, string][] | undefined;
export type Values = Record<string, Value>;

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const RESERVED = /[:/?#[\]@!$&'()*+,;=]/;

interface OperatorRules {
  first: string;
  sep: string;
  named: boolean;
  ifemp: string;
  reserved: boolean;
}

// RFC 6570 Appendix A.
const RULES: Record<Operator, OperatorRules> = {
  '': { first: '', sep: ',', named: false, ifemp: '', reserved: false },
  '+': { first: '', sep: ',', named: false, ifemp: '', reserved: true },
  '#': { first: '#', sep: ',', named: false, ifemp: '', reserved: true },
  '.': { first: '.', sep: '.', named: false, ifemp: '', reserved: false },
  '/': { first: '/', sep: '/', named: false, ifemp: '', reserved: false },
  ';': { first: ';', sep: ';', named: true, ifemp: '', reserved: false },
  '?': { first: '?', sep: '&', named: true, ifemp: '=', reserved: false },
  '&': { first: '&', sep: '&', named: true, ifemp: '=', reserved: false },
};

export function render(parts: readonly Part[]): string {
  return parts
    .map((part) =>
      'literal' in part
        ? part.literal
        : `{${part.operator}${part.variables
            .map((v) => v.name + (v.explode ? '*' : v.prefix ? `:${v.prefix}` : ''))
            .join(',')}}`,
    )
    .join('');
}

function percentEncode(text: string, allowReserved: boolean): string {
  let out = '';
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (UNRESERVED.test(c) || (allowReserved && RESERVED.test(c))) {
      out += c;
    } else if (
      allowReserved &&
      c === '%' &&
      /^[0-9A-Fa-f]{2}$/.test((chars[i + 1] ?? '') + (chars[i + 2] ?? ''))
    ) {
      // "+" and "#" let pct-encoded triplets through as they are.
      out += c;
    } else {
      for (const byte of new TextEncoder().encode(c)) {
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      }
    }
  }
  return out;
}

function isDefined(value: Value): value is Exclude<Value, undefined> {
  return value !== undefined && !(Array.isArray(value) && value.length === 0);
}

function isPairs(value: string[] | [string, string][]): value is [string, string][] {
  return Array.isArray(value[0]);
}

/** RFC 6570 §3.2.1, "Variable Expansion". */
export function expand(parts: readonly Part[], values: Values): string {
  let out = '';
  for (const part of parts) {
    if ('literal' in part) {
      out += part.literal;
      continue;
    }
    const rules = RULES[part.operator];
    const enc = (text: string) => percentEncode(text, rules.reserved);
    let first = true;
    for (const spec of part.variables) {
      const value = values[spec.name];
      if (!isDefined(value)) continue;
      out += first ? rules.first : rules.sep;
      first = false;
      if (typeof value === 'string') {
        const text =
          spec.prefix === undefined ? value : Array.from(value).slice(0, spec.prefix).join('');
        if (rules.named) out += spec.name + (text === '' ? rules.ifemp : '=');
        out += enc(text);
      } else if (!spec.explode) {
        if (rules.named) out += spec.name + '=';
        out += isPairs(value)
          ? value.map(([k, v]) => `${enc(k)},${enc(v)}`).join(',')
          : value.map(enc).join(',');
      } else if (isPairs(value)) {
        out += value
          .map(([k, v]) =>
            rules.named ? enc(k) + (v === '' ? rules.ifemp : `=${enc(v)}`) : `${enc(k)}=${enc(v)}`,
          )
          .join(rules.sep);
      } else {
        out += value
          .map((v) => (rules.named ? spec.name + (v === '' ? rules.ifemp : `=${enc(v)}`) : enc(v)))
          .join(rules.sep);
      }
    }
  }
  return out;
}

const VALUE_UNRESERVED = /^[A-Za-z0-9\-._~,]$/;
const VALUE_PAIRS = /^[A-Za-z0-9\-._~,=]$/;
const VALUE_RESERVED = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]$/;
const PCT_TRIPLET = /^%[0-9A-Fa-f]{2}$/;

/** Where one value that starts at `start` may end: after each allowed character or %HH. */
function valueEnds(text: string, start: number, allowed: RegExp): number[] {
  const ends = [start];
  let i = start;
  while (i < text.length) {
    if (PCT_TRIPLET.test(text.slice(i, i + 3))) i += 3;
    else if (allowed.test(text[i]!)) i += 1;
    else break;
    ends.push(i);
  }
  return ends;
}

/** Where an expression that starts at `start` may end (itself included: it may expand to nothing). */
function expressionEnds(
  part: { operator: Operator; variables: VarSpec[] },
  text: string,
  start: number,
): Set<number> {
  const rules = RULES[part.operator];
  const exploded = part.variables.some((v) => v.explode);
  const allowed = rules.reserved
    ? VALUE_RESERVED
    : rules.named || exploded
      ? VALUE_PAIRS
      : VALUE_UNRESERVED;
  const ends = new Set([start]);
  if (!text.startsWith(rules.first, start)) return ends;
  let frontier = valueEnds(text, start + rules.first.length, allowed);
  const maxMore = exploded ? Number.POSITIVE_INFINITY : part.variables.length - 1;
  for (let more = 0; frontier.length > 0; more++) {
    for (const end of frontier) ends.add(end);
    if (more === maxMore) break;
    const next = new Set<number>();
    for (const end of frontier) {
      if (!text.startsWith(rules.sep, end)) continue;
      for (const after of valueEnds(text, end + rules.sep.length, allowed)) {
        // A separator is never empty, so positions only grow and this ends.
        if (!ends.has(after)) next.add(after);
      }
    }
    frontier = [...next];
  }
  return ends;
}

/**
 * The matching rules, written plainly as a set of reachable positions carried through the
 * parts (the way Mercure's template library describes them as a regular expression, with `=`
 * allowed in every value of an expression that explodes a variable). Independent of the
 * matcher under test, and polynomial whatever the template — unlike a backtracking regex.
 */
export function referenceMatcher(parts: readonly Part[]): (text: string) => boolean {
  return (text) => {
    let positions = new Set([0]);
    for (const part of parts) {
      const next = new Set<number>();
      for (const position of positions) {
        if ('literal' in part) {
          if (text.startsWith(part.literal, position)) next.add(position + part.literal.length);
        } else {
          for (const end of expressionEnds(part, text, position)) next.add(end);
        }
      }
      positions = next;
    }
    return positions.has(text.length);
  };
}

// ---------------------------------------------------------------------------------------------
// fast-check arbitraries
// ---------------------------------------------------------------------------------------------

const LITERAL_CHARS = [...'abcxyz019-._~:/?#[]@!$&()*+,;=', 'é', '中', '😀', '%20', '%C3%A9'];

export const literalArb = fc
  .array(fc.constantFrom(...LITERAL_CHARS), { minLength: 1, maxLength: 8 })
  .map((chars) => chars.join(''));

const NAMES = ['a', 'b', 'id', 'x.y', 'list', 'keys'];

export const varSpecArb: fc.Arbitrary<VarSpec> = fc
  .record({
    name: fc.constantFrom(...NAMES),
    explode: fc.boolean(),
    prefix: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  })
  .map((spec) =>
    spec.explode
      ? { name: spec.name, explode: true }
      : spec.prefix
        ? { name: spec.name, prefix: spec.prefix }
        : { name: spec.name },
  );

export const operatorArb = fc.constantFrom<Operator>('', '+', '#', '.', '/', ';', '?', '&');

export const expressionArb: fc.Arbitrary<Part> = fc.record({
  operator: operatorArb,
  variables: fc.array(varSpecArb, { minLength: 1, maxLength: 3 }),
});

/** A template with at least one expression, literals in between. */
export const templateArb: fc.Arbitrary<Part[]> = fc
  .array(
    fc.oneof(
      literalArb.map((literal): Part => ({ literal })),
      expressionArb,
    ),
    {
      minLength: 1,
      maxLength: 5,
    },
  )
  .filter((parts) => parts.some((part) => !('literal' in part)))
  .map(mergeLiterals);

function mergeLiterals(parts: Part[]): Part[] {
  const merged: Part[] = [];
  for (const part of parts) {
    const last = merged[merged.length - 1];
    if ('literal' in part && last !== undefined && 'literal' in last) {
      merged[merged.length - 1] = { literal: last.literal + part.literal };
    } else {
      merged.push(part);
    }
  }
  return merged;
}

const textArb = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
  fc.constantFrom('', '/', ',', '=', '&', ';', '?', '#', '%', '%41', '50%', 'a b', 'é'),
);

export const valueArb: fc.Arbitrary<Value> = fc.oneof(
  fc.constant(undefined),
  textArb,
  fc.array(textArb, { maxLength: 3 }),
  fc.array(fc.tuple(textArb, textArb), { maxLength: 3 }),
);

export const valuesArb: fc.Arbitrary<Values> = fc.record(
  Object.fromEntries(NAMES.map((name) => [name, valueArb])),
) as fc.Arbitrary<Values>;

/** Characters a near-miss topic is built from: separators, pct, non-ASCII, a space. */
export const topicCharArb = fc.constantFrom(...'ab1-._~/,=;&?#%!:@+* ', 'é', '%2', '%4A', '%zz');
