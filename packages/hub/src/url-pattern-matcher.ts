/**
 * Matching topics against WHATWG URL Patterns (https://urlpattern.spec.whatwg.org), the
 * `urlpattern` matcher type of Mercure draft-08: "The hub MUST support using URL patterns as
 * matchers."
 *
 * Node 20 has no global `URLPattern`, and the standard one compiles patterns to backtracking
 * regular expressions, which the draft forbids on attacker input: "hubs MUST either use a
 * regular expression engine that guarantees linear-time matching (such as RE2) or enforce an
 * implementation-defined evaluation cost or time limit." So each component of a pattern
 * compiles to a Thompson NFA, simulated one input character at a time over the set of live
 * states: the cost of a match is at most (topic length) × (pattern length), with no
 * backtracking whatever the pattern. Components that are plain text compare as strings and
 * lone `*` components are skipped, so the common `https://example.com/books/:id` runs the
 * automaton over the pathname only.
 *
 * The subset implemented, which is what topics need:
 * - the constructor-string syntax, absolute (`https://example.com/books/:id`) or relative to
 *   the hub's URL (`/.well-known/mercure/subscriptions/exact/:topic/:subscriber`), with the
 *   standard's rules for which components a string leaves as `*` and which as empty;
 * - named groups `:name`, wildcards `*`, groups `{...}`, the modifiers `?`, `+` and `*`,
 *   `\` escapes, and the automatic `/` prefix of pathname parts;
 * - fixed text canonicalized as the standard does (percent-encoding, dot segments, lowercase
 *   host and scheme, default ports dropped).
 * Not implemented, refused with a reason (400): regular-expression groups `(...)` — the
 * feature that makes URL Patterns dangerous, and one no topic scheme needs —, user info
 * (`user:pass@`) in the pattern, and relative patterns that do not start with `/`.
 *
 * Topics are parsed with the WHATWG URL parser against the hub's URL; "A topic that cannot
 * be parsed as a URL reference against the hub's URL cannot be matched by a URL pattern".
 * Matching is case-sensitive except for what URL canonicalization folds (scheme, host):
 * "hubs MUST NOT enable the `ignoreCase` option".
 */
import { domainToASCII } from 'node:url';

/** A pattern outside the supported syntax; the message is one line, for a 400. */
export class UrlPatternSyntaxError extends Error {
  override readonly name = 'UrlPatternSyntaxError';
}

export interface UrlPatternMatcher {
  /** True when `topic`, resolved against the hub's URL, matches every component. */
  matches(topic: string): boolean;
}

/** Longest pattern accepted: bounds the automaton, so the cost of one match. */
export const MAX_URL_PATTERN_LENGTH = 2048;

const COMPONENTS = [
  'protocol',
  'username',
  'password',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
] as const;
type Component = (typeof COMPONENTS)[number];
type Components = Record<Component, string>;

/**
 * Compiles a pattern once.
 * @param baseUrl the hub's URL: relative patterns take its scheme, host and port.
 * @throws UrlPatternSyntaxError
 */
export function compileUrlPattern(pattern: string, baseUrl: string): UrlPatternMatcher {
  if (pattern.length > MAX_URL_PATTERN_LENGTH) {
    throw new UrlPatternSyntaxError(
      `longer than ${MAX_URL_PATTERN_LENGTH} characters (${pattern.length})`,
    );
  }
  if (!URL.canParse(baseUrl))
    throw new UrlPatternSyntaxError(`the hub URL ${baseUrl} is not a URL`);
  const tokens = tokenize(pattern);
  const split = splitComponents(tokens, baseUrl);
  const protocolText = fixedText(split.protocol);
  const special = protocolText !== undefined && SPECIAL_PORTS.has(protocolText.toLowerCase());
  const opaquePath = !special && !split.authority && !split.relative;
  const matchers = COMPONENTS.map((component) => {
    const componentTokens = split[component];
    if (componentTokens === undefined) return ANY;
    return compileComponent(component, componentTokens, {
      protocol: protocolText?.toLowerCase(),
      opaquePath,
    });
  });
  return new Matcher(matchers, baseUrl);
}

// ---------------------------------------------------------------------------------------------
// Tokens: "tokenize" of the standard, in its lenient mode (a `:` that starts no name is text)
// ---------------------------------------------------------------------------------------------

type TokenType = 'char' | 'escaped' | 'name' | 'asterisk' | 'modifier' | 'open' | 'close';

interface Token {
  type: TokenType;
  value: string;
}

const NAME_START = /[$_\p{ID_Start}]/u;
const NAME_PART = /^(?:[$\p{ID_Continue}]|\u200c|\u200d)$/u;

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  const chars = Array.from(input);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') tokens.push({ type: 'asterisk', value: c });
    else if (c === '+' || c === '?') tokens.push({ type: 'modifier', value: c });
    else if (c === '{') tokens.push({ type: 'open', value: c });
    else if (c === '}') tokens.push({ type: 'close', value: c });
    else if (c === '\\') {
      const next = chars[++i];
      if (next === undefined) throw new UrlPatternSyntaxError('it ends with a lone "\\"');
      tokens.push({ type: 'escaped', value: next });
    } else if (c === '(') {
      throw new UrlPatternSyntaxError(
        'regular-expression groups "(...)" are not supported (they allow catastrophic backtracking): use :name or *',
      );
    } else if (c === ':' && chars[i + 1] !== undefined && NAME_START.test(chars[i + 1]!)) {
      let name = '';
      while (chars[i + 1] !== undefined && NAME_PART.test(chars[i + 1]!)) name += chars[++i];
      tokens.push({ type: 'name', value: name });
    } else tokens.push({ type: 'char', value: c });
  }
  return tokens;
}

/** Char or escaped char with this value: what the standard calls a "non-special pattern char". */
function isText(token: Token | undefined, value: string): boolean {
  return (
    token !== undefined &&
    (token.type === 'char' || token.type === 'escaped') &&
    token.value === value
  );
}

// ---------------------------------------------------------------------------------------------
// Splitting a constructor string into components ("parse a constructor string", simplified)
// ---------------------------------------------------------------------------------------------

interface Split extends Partial<Record<Component, Token[]>> {
  relative: boolean;
  /** The pattern has `//host`. */
  authority: boolean;
}

function literalTokens(text: string): Token[] {
  return Array.from(text, (value) => ({ type: 'escaped' as const, value }));
}

function splitComponents(tokens: Token[], baseUrl: string): Split {
  // "is a search prefix": a `?` is a modifier right after a name, a wildcard or a group.
  const isSearchPrefix = (i: number): boolean => {
    const token = tokens[i]!;
    if (token.value !== '?') return false;
    if (token.type !== 'modifier') return true;
    const previous = tokens[i - 1];
    return !(
      previous &&
      (previous.type === 'name' || previous.type === 'close' || previous.type === 'asterisk')
    );
  };
  const split: Split = { relative: false, authority: false };
  let i = 0;
  let depth = 0;
  const atDepthZero = (at: number): boolean => {
    // Groups `{...}` never span components; track them so a `?` or `/` inside one is text.
    const token = tokens[at]!;
    if (token.type === 'open') depth++;
    else if (token.type === 'close') depth--;
    return depth === 0 && token.type !== 'close';
  };

  if (isText(tokens[0], '/')) {
    split.relative = true;
    const base = new URL(baseUrl);
    split.protocol = literalTokens(base.protocol.slice(0, -1));
    split.hostname = literalTokens(base.hostname);
    split.port = literalTokens(base.port);
  } else {
    const colon = tokens.findIndex((token) => isText(token, ':'));
    if (colon <= 0) {
      throw new UrlPatternSyntaxError(
        'it is neither absolute (scheme:...) nor relative to the hub (starting with "/")',
      );
    }
    split.protocol = tokens.slice(0, colon);
    i = colon + 1;
    if (isText(tokens[i], '/') && isText(tokens[i + 1], '/')) {
      split.authority = true;
      i += 2;
      const start = i;
      while (
        i < tokens.length &&
        !(depth === 0 && (isText(tokens[i], '/') || isText(tokens[i], '#') || isSearchPrefix(i)))
      ) {
        atDepthZero(i);
        i++;
      }
      const authority = tokens.slice(start, i);
      if (authority.some((token) => isText(token, '@'))) {
        throw new UrlPatternSyntaxError(
          'user info ("user:password@") in a pattern is not supported',
        );
      }
      // The port follows the last `:` outside an IPv6 literal's brackets.
      let bracket = 0;
      let portColon = -1;
      authority.forEach((token, at) => {
        if (isText(token, '[')) bracket++;
        else if (isText(token, ']')) bracket--;
        else if (bracket === 0 && isText(token, ':')) portColon = at;
      });
      split.hostname = portColon === -1 ? authority : authority.slice(0, portColon);
      split.port = portColon === -1 ? [] : authority.slice(portColon + 1);
    } else if (i < tokens.length) {
      // `urn:...`: no authority, so no host and no port to match.
      split.hostname = [];
      split.port = [];
    }
  }

  // The rest: pathname, then `?search`, then `#hash`. A component the string skips before
  // one it gives is empty; the ones after the last given stay `*` ("change state").
  const start = i;
  while (i < tokens.length && !(depth === 0 && (isText(tokens[i], '#') || isSearchPrefix(i)))) {
    atDepthZero(i);
    i++;
  }
  const pathname = tokens.slice(start, i);
  if (pathname.length > 0 || (i > start && !split.authority)) split.pathname = pathname;
  if (i < tokens.length && tokens[i]!.value === '?') {
    i++;
    const searchStart = i;
    while (i < tokens.length && !(depth === 0 && isText(tokens[i], '#'))) {
      atDepthZero(i);
      i++;
    }
    split.search = tokens.slice(searchStart, i);
  }
  if (i < tokens.length) {
    i++; // `#`
    split.hash = tokens.slice(i);
    split.search ??= [];
  }
  if (depth !== 0) {
    throw new UrlPatternSyntaxError(
      depth > 0 ? 'a "{" has no matching "}"' : 'a "}" has no matching "{"',
    );
  }
  if ((split.search !== undefined || split.hash !== undefined) && split.pathname === undefined) {
    const protocol = fixedText(split.protocol);
    split.pathname =
      protocol !== undefined && SPECIAL_PORTS.has(protocol.toLowerCase()) ? literalTokens('/') : [];
  }
  return split;
}

/** The text of a component without any pattern syntax, or undefined. */
function fixedText(tokens: Token[] | undefined): string | undefined {
  if (tokens === undefined) return undefined;
  let text = '';
  for (const token of tokens) {
    if (token.type !== 'char' && token.type !== 'escaped') return undefined;
    text += token.value;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Parts of one component ("parse a pattern string")
// ---------------------------------------------------------------------------------------------

type Modifier = '' | '?' | '+' | '*';

interface Part {
  /** `fixed`: text; `segment`: `:name` (one segment); `full`: `*` (anything). */
  kind: 'fixed' | 'segment' | 'full';
  prefix: string;
  value: string;
  suffix: string;
  modifier: Modifier;
}

interface ComponentOptions {
  /** `/` in pathnames, `.` in hostnames, nothing elsewhere: what a `:name` cannot cross. */
  delimiter: string;
  /** `/` in pathnames: the text before a `:name` or `*` that becomes its optional prefix. */
  prefix: string;
  canonicalize: (text: string) => string;
}

function parseParts(tokens: Token[], options: ComponentOptions): Part[] {
  const parts: Part[] = [];
  const names = new Set<string>();
  let pending = '';
  let i = 0;
  const take = (...types: TokenType[]): Token | undefined => {
    const token = tokens[i];
    if (token !== undefined && types.includes(token.type)) {
      i++;
      return token;
    }
    return undefined;
  };
  const takeText = (): string => {
    let text = '';
    for (let token = take('char', 'escaped'); token; token = take('char', 'escaped'))
      text += token.value;
    return text;
  };
  const takeModifier = (): Modifier => (take('modifier', 'asterisk')?.value ?? '') as Modifier;
  const flush = (): void => {
    if (pending === '') return;
    parts.push({
      kind: 'fixed',
      prefix: '',
      value: options.canonicalize(pending),
      suffix: '',
      modifier: '',
    });
    pending = '';
  };
  const addPart = (
    prefix: string,
    name: Token | undefined,
    wildcard: Token | undefined,
    suffix: string,
    modifier: Modifier,
  ): void => {
    if (name === undefined && wildcard === undefined) {
      if (modifier === '') {
        pending += prefix;
        return;
      }
      flush();
      if (prefix === '') return;
      parts.push({
        kind: 'fixed',
        prefix: '',
        value: options.canonicalize(prefix),
        suffix: '',
        modifier,
      });
      return;
    }
    flush();
    if (name !== undefined) {
      if (names.has(name.value))
        throw new UrlPatternSyntaxError(`the name ":${name.value}" is used twice`);
      names.add(name.value);
    }
    parts.push({
      kind: wildcard !== undefined ? 'full' : 'segment',
      prefix: options.canonicalize(prefix),
      value: '',
      suffix: options.canonicalize(suffix),
      modifier,
    });
  };

  while (i < tokens.length) {
    const char = take('char');
    const name = take('name');
    const wildcard = name === undefined ? take('asterisk') : undefined;
    if (name !== undefined || wildcard !== undefined) {
      let prefix = char?.value ?? '';
      if (prefix !== '' && prefix !== options.prefix) {
        pending += prefix;
        prefix = '';
      }
      flush();
      addPart(prefix, name, wildcard, '', takeModifier());
      continue;
    }
    const fixed = char ?? take('escaped');
    if (fixed !== undefined) {
      pending += fixed.value;
      continue;
    }
    if (take('open') !== undefined) {
      const prefix = takeText();
      const groupName = take('name');
      const groupWildcard = groupName === undefined ? take('asterisk') : undefined;
      const suffix = takeText();
      if (take('close') === undefined) {
        throw new UrlPatternSyntaxError(
          'a group "{...}" holds text and at most one :name or *, then "}"',
        );
      }
      addPart(prefix, groupName, groupWildcard, suffix, takeModifier());
      continue;
    }
    const token = tokens[i]!;
    throw new UrlPatternSyntaxError(
      token.type === 'close' ? 'a "}" has no matching "{"' : `unexpected "${token.value}"`,
    );
  }
  flush();
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Canonical fixed text, as URL canonicalization writes each component
// ---------------------------------------------------------------------------------------------

const SPECIAL_PORTS = new Map([
  ['http', '80'],
  ['https', '443'],
  ['ws', '80'],
  ['wss', '443'],
  ['ftp', '21'],
  ['file', ''],
]);

function canonicalizer(
  component: Component,
  protocol: string | undefined,
  opaquePath: boolean,
): (text: string) => string {
  switch (component) {
    case 'protocol':
      return (text) => {
        if (!/^[A-Za-z0-9+.-]*$/.test(text))
          throw new UrlPatternSyntaxError(`invalid scheme text "${text}"`);
        return text.toLowerCase();
      };
    case 'hostname':
      return (text) => {
        // The host parser percent-decodes first, then lowercases (or maps to punycode).
        let decoded = text;
        try {
          decoded = decodeURIComponent(text);
        } catch {
          throw new UrlPatternSyntaxError(`invalid host text "${text}"`);
        }
        const ascii = /^[\x20-\x7e]*$/.test(decoded)
          ? decoded.toLowerCase()
          : domainToASCII(decoded);
        if (ascii === '' && text !== '')
          throw new UrlPatternSyntaxError(`invalid host text "${text}"`);
        return ascii;
      };
    case 'port':
      return (text) => {
        if (!/^[0-9]*$/.test(text) || Number(text) > 65535)
          throw new UrlPatternSyntaxError(`invalid port "${text}"`);
        const port = text === '' ? '' : String(Number(text));
        return protocol !== undefined && SPECIAL_PORTS.get(protocol) === port ? '' : port;
      };
    case 'pathname':
      return opaquePath
        ? (text) => new URL(`fake:${text}`).pathname
        : (text) => {
            // "canonicalize a pathname": parsed as a path, so dot segments go and characters
            // are percent-encoded as a URL's path would have them.
            const leadingSlash = text.startsWith('/');
            const path = new URL(`fake://fake-url${leadingSlash ? '' : '/-'}${text}`).pathname;
            return leadingSlash ? path : path.slice(2);
          };
    case 'search':
      return (text) => new URL(`fake://fake-url/?${text}`).search.slice(1);
    case 'hash':
      return (text) => new URL(`fake://fake-url/#${text}`).hash.slice(1);
    default:
      return (text) => {
        const url = new URL('fake://fake-url/');
        url[component] = text;
        return url[component];
      };
  }
}

// ---------------------------------------------------------------------------------------------
// The automaton of one component
// ---------------------------------------------------------------------------------------------

// Instructions: CHAR c (consume c), BUT c (consume anything but c; c = -1: anything),
// SPLIT x y, JUMP x, MATCH.
const OP_CHAR = 0;
const OP_BUT = 1;
const OP_SPLIT = 2;
const OP_JUMP = 3;
const OP_MATCH = 4;
const ANYTHING = -1;

interface ComponentMatcher {
  matches(value: string): boolean;
}

const ANY: ComponentMatcher = { matches: () => true };

function compileComponent(
  component: Component,
  tokens: Token[],
  context: { protocol: string | undefined; opaquePath: boolean },
): ComponentMatcher {
  const pathname = component === 'pathname' && !context.opaquePath;
  const options: ComponentOptions = {
    delimiter: pathname ? '/' : component === 'hostname' ? '.' : '',
    prefix: pathname ? '/' : '',
    canonicalize: canonicalizer(component, context.protocol, context.opaquePath),
  };
  let parts: Part[];
  try {
    parts = parseParts(tokens, options);
  } catch (error) {
    if (error instanceof TypeError) {
      throw new UrlPatternSyntaxError(`the ${component} is not valid URL text`);
    }
    throw error;
  }
  if (parts.every((part) => part.kind === 'fixed' && part.modifier === '')) {
    const text = parts.map((part) => part.value).join('');
    return { matches: (value) => value === text };
  }
  const only = parts[0];
  if (
    parts.length === 1 &&
    only!.kind === 'full' &&
    only!.modifier === '' &&
    only!.prefix === '' &&
    only!.suffix === ''
  ) {
    return ANY;
  }
  return new Automaton(
    parts,
    options.delimiter === '' ? ANYTHING : options.delimiter.charCodeAt(0),
  );
}

class Automaton implements ComponentMatcher {
  readonly #ops: number[] = [];
  readonly #x: number[] = [];
  readonly #y: number[] = [];
  // Scratch state for the simulation (synchronous, never re-entered).
  #current: Int32Array;
  #next: Int32Array;
  readonly #stamp: Uint32Array;
  readonly #stack: Int32Array;
  #generation = 0;

  constructor(parts: readonly Part[], delimiter: number) {
    for (const part of parts) this.#part(part, delimiter);
    this.#emit(OP_MATCH);
    const size = this.#ops.length;
    this.#current = new Int32Array(size);
    this.#next = new Int32Array(size);
    this.#stamp = new Uint32Array(size);
    this.#stack = new Int32Array(size * 2 + 2);
  }

  #emit(op: number, x = 0, y = 0): number {
    this.#ops.push(op);
    this.#x.push(x);
    this.#y.push(y);
    return this.#ops.length - 1;
  }

  #text(text: string): void {
    for (let i = 0; i < text.length; i++) this.#emit(OP_CHAR, text.charCodeAt(i));
  }

  /** `[^delimiter]+` for a segment, `.*` for a wildcard. */
  #value(kind: Part['kind'], delimiter: number): void {
    if (kind === 'segment') {
      const first = this.#emit(OP_BUT, delimiter);
      const loop = this.#emit(OP_SPLIT, first, 0);
      this.#y[loop] = this.#ops.length;
      return;
    }
    const loop = this.#emit(OP_SPLIT);
    this.#x[loop] = this.#ops.length;
    this.#emit(OP_BUT, ANYTHING);
    this.#emit(OP_JUMP, loop);
    this.#y[loop] = this.#ops.length;
  }

  /**
   * The standard's regular expression for a part, as instructions: `p V s` with no modifier,
   * `(?:p V s)?` for `?`, `p V (?:s p V)* s` for `+` (or `V+` without prefix and suffix), and
   * that made optional for `*`.
   */
  #part(part: Part, delimiter: number): void {
    const optional = part.modifier === '?' || part.modifier === '*';
    const skip = optional ? this.#emit(OP_SPLIT) : -1;
    if (skip !== -1) this.#x[skip] = this.#ops.length;
    if (part.kind === 'fixed') {
      const start = this.#ops.length;
      this.#text(part.value);
      if (part.modifier === '+' || part.modifier === '*')
        this.#emit(OP_SPLIT, start, this.#ops.length + 1);
    } else {
      const repeated = part.modifier === '+' || part.modifier === '*';
      this.#text(part.prefix);
      const start = this.#ops.length;
      this.#value(part.kind, delimiter);
      if (repeated) {
        if (part.prefix === '' && part.suffix === '') {
          this.#emit(OP_SPLIT, start, this.#ops.length + 1);
        } else {
          const again = this.#emit(OP_SPLIT);
          this.#x[again] = this.#ops.length;
          this.#text(part.suffix);
          this.#text(part.prefix);
          this.#emit(OP_JUMP, start);
          this.#y[again] = this.#ops.length;
        }
      }
      this.#text(part.suffix);
    }
    if (skip !== -1) this.#y[skip] = this.#ops.length;
  }

  matches(value: string): boolean {
    let count = this.#closure(this.#current, 0, [0]);
    let current = this.#current;
    let next = this.#next;
    const ops = this.#ops;
    const x = this.#x;
    const targets: number[] = [];
    for (let i = 0; i < value.length && count > 0; i++) {
      const code = value.charCodeAt(i);
      targets.length = 0;
      for (let s = 0; s < count; s++) {
        const pc = current[s]!;
        const op = ops[pc];
        if (op === OP_CHAR ? x[pc] === code : op === OP_BUT && x[pc] !== code) targets.push(pc + 1);
      }
      count = this.#closure(next, 0, targets);
      [current, next] = [next, current];
    }
    for (let s = 0; s < count; s++) if (ops[current[s]!] === OP_MATCH) return true;
    return false;
  }

  /** Writes the instructions reachable from `pcs` without consuming input; returns how many. */
  #closure(into: Int32Array, count: number, pcs: readonly number[]): number {
    if (this.#generation === 0xffffffff) {
      this.#stamp.fill(0);
      this.#generation = 0;
    }
    const generation = ++this.#generation;
    const stamp = this.#stamp;
    const stack = this.#stack;
    const ops = this.#ops;
    for (const pc of pcs) {
      let top = 0;
      stack[top++] = pc;
      while (top > 0) {
        const at = stack[--top]!;
        if (stamp[at] === generation) continue;
        stamp[at] = generation;
        const op = ops[at];
        if (op === OP_JUMP) stack[top++] = this.#x[at]!;
        else if (op === OP_SPLIT) {
          stack[top++] = this.#y[at]!;
          stack[top++] = this.#x[at]!;
        } else into[count++] = at;
      }
    }
    return count;
  }
}

// ---------------------------------------------------------------------------------------------
// The whole pattern
// ---------------------------------------------------------------------------------------------

/**
 * The last topic parsed, per base: fan-out asks every pattern subscriber about the same
 * topic in a row, so one parse serves them all.
 */
let lastTopic: string | undefined;
let lastBase: string | undefined;
let lastComponents: Components | undefined;

function topicComponents(topic: string, baseUrl: string): Components | undefined {
  if (topic === lastTopic && baseUrl === lastBase) return lastComponents;
  let components: Components | undefined;
  try {
    const url = new URL(topic, baseUrl);
    components = {
      protocol: url.protocol.slice(0, -1),
      username: url.username,
      password: url.password,
      hostname: url.hostname,
      port: url.port,
      pathname: url.pathname,
      search: url.search.slice(1),
      hash: url.hash.slice(1),
    };
  } catch {
    components = undefined;
  }
  lastTopic = topic;
  lastBase = baseUrl;
  lastComponents = components;
  return components;
}

class Matcher implements UrlPatternMatcher {
  readonly #components: readonly ComponentMatcher[];
  readonly #base: string;

  constructor(components: readonly ComponentMatcher[], base: string) {
    this.#components = components;
    this.#base = base;
  }

  matches(topic: string): boolean {
    const components = topicComponents(topic, this.#base);
    if (components === undefined) return false;
    for (let c = 0; c < COMPONENTS.length; c++) {
      if (!this.#components[c]!.matches(components[COMPONENTS[c]!])) return false;
    }
    return true;
  }
}
