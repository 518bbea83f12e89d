/**
 * RFC 6570 URI Templates, compiled to a matcher: "could this string be an expansion of the
 * template?" — the question a Mercure hub asks for every template topic selector.
 *
 * The matching rules are the ones Mercure applies (its Go template library turns a template
 * into a regular expression): literals match themselves; each expression matches, optionally,
 * its operator's first character followed by values made of the operator's allowed characters
 * or percent-encoded triplets, joined by the operator's separator. Prefix modifiers (`:3`) are
 * accepted but not enforced, and names of `;`, `?` and `&` expressions are not checked — both as
 * Mercure does, so a selector matches here what it matches there. One deliberate difference:
 * Mercure lets `=` into an expression's first value only when its first variable is exploded,
 * so `{x,keys*}` misses its own expansion `semi=%3B,dot=.` when `x` is undefined; here `=` is
 * allowed in every value of an expression with any exploded variable, so every expansion of a
 * template matches it (a strict superset of Mercure's matches).
 *
 * The matcher is a Thompson NFA run in lock step (a Pike VM without captures): time is linear
 * in the topic's length, whatever the template. A backtracking regular expression would not be
 * safe here: subscribers choose templates, publishers choose topics, and a template such as
 * `{+a}{+b}{+c}{+d}` against a long near-miss topic makes a backtracking engine take
 * polynomial time — a denial of service by query string.
 */

/** A template that does not follow the RFC 6570 grammar; `index` is where it went wrong. */
export class UriTemplateSyntaxError extends Error {
  override readonly name = 'UriTemplateSyntaxError';
  readonly index: number;

  constructor(reason: string, index: number) {
    super(reason);
    this.index = index;
  }
}

export interface UriTemplateMatcher {
  /** True when `value` is a possible expansion of the template. */
  matches(value: string): boolean;
}

// Char codes used by the grammar.
const PERCENT = 0x25;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const DOT = 0x2e;
const COLON = 0x3a;
const ASTERISK = 0x2a;

/** RFC 3986 `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`. */
const UNRESERVED = '-._~ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** RFC 3986 `reserved = gen-delims / sub-delims`. */
const RESERVED = ":/?#[]@!$&'()*+,;=";
const HEX_DIGITS = '0123456789ABCDEFabcdef';

/** An ASCII membership table: `table[code] === 1` when the character belongs to the class. */
type CharTable = Uint8Array;

function charTable(chars: string): CharTable {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

// The value characters of an expression. Mercure's matcher lets a comma through in every value
// (a list expands to `a,b,c`), and `=` where a `name=value` or an exploded `key=value` pair may
// appear; the reserved operators (`+`, `#`) allow every reserved character.
const CLASS_UNRESERVED = charTable(UNRESERVED + ',');
const CLASS_UNRESERVED_PAIRS = charTable(UNRESERVED + ',=');
const CLASS_RESERVED = charTable(UNRESERVED + RESERVED);
const CLASS_HEX = charTable(HEX_DIGITS);

interface Operator {
  /** Written before the first defined value (RFC 6570 §3.2.1 "first"). */
  readonly first: string;
  /** Written between values ("sep"). */
  readonly separator: string;
  /** `;`, `?` and `&` expand to `name=value` pairs ("named"). */
  readonly named: boolean;
  /** `+` and `#` let reserved characters through unencoded ("allow: U+R"). */
  readonly reserved: boolean;
}

// RFC 6570 Appendix A, the table of operator behaviour.
const OPERATORS: ReadonlyMap<string, Operator> = new Map([
  ['', { first: '', separator: ',', named: false, reserved: false }],
  ['+', { first: '', separator: ',', named: false, reserved: true }],
  ['#', { first: '#', separator: ',', named: false, reserved: true }],
  ['.', { first: '.', separator: '.', named: false, reserved: false }],
  ['/', { first: '/', separator: '/', named: false, reserved: false }],
  [';', { first: ';', separator: ';', named: true, reserved: false }],
  ['?', { first: '?', separator: '&', named: true, reserved: false }],
  ['&', { first: '&', separator: '&', named: true, reserved: false }],
]);

/** RFC 6570 §2.2: "op-reserve", set aside for future extensions. */
const RESERVED_OPERATORS = '=,!@|';

interface VarSpec {
  readonly name: string;
  readonly explode: boolean;
  readonly prefix: number | undefined;
}

interface Expression {
  readonly operator: Operator;
  readonly variables: readonly VarSpec[];
}

type Part = string | Expression;

/** Parses a template into literal strings and expressions; throws UriTemplateSyntaxError. */
export function parseUriTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const code = template.charCodeAt(i);
    if (code === OPEN_BRACE) {
      if (literal !== '') parts.push(literal);
      literal = '';
      const close = template.indexOf('}', i + 1);
      if (close === -1) {
        throw new UriTemplateSyntaxError(`"{" at character ${i + 1} is never closed by "}"`, i);
      }
      parts.push(parseExpression(template, i + 1, close));
      i = close + 1;
      continue;
    }
    if (code === CLOSE_BRACE) {
      throw new UriTemplateSyntaxError(`"}" at character ${i + 1} closes no expression`, i);
    }
    if (code === PERCENT) {
      checkPercentEncoded(template, i);
      literal += template.slice(i, i + 3);
      i += 3;
      continue;
    }
    const width = literalCharWidth(template, i);
    if (width === 0) {
      throw new UriTemplateSyntaxError(
        `${describeChar(template, i)} at character ${i + 1} is not allowed in a URI template; percent-encode it`,
        i,
      );
    }
    literal += template.slice(i, i + width);
    i += width;
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

/**
 * RFC 6570 §2.1: `literals = %x21 / %x23-24 / %x26 / %x28-3B / %x3D / %x3F-5B / %x5D / %x5F /
 * %x61-7A / %x7E / ucschar / iprivate / pct-encoded`. Returns the character's width in UTF-16
 * code units (2 for a valid surrogate pair), or 0 when it is not allowed.
 */
function literalCharWidth(text: string, index: number): number {
  const code = text.codePointAt(index)!;
  if (code < 0x80) {
    const allowed =
      code === 0x21 ||
      code === 0x23 ||
      code === 0x24 ||
      code === 0x26 ||
      (code >= 0x28 && code <= 0x3b) ||
      code === 0x3d ||
      (code >= 0x3f && code <= 0x5b) ||
      code === 0x5d ||
      code === 0x5f ||
      (code >= 0x61 && code <= 0x7a) ||
      code === 0x7e;
    return allowed ? 1 : 0;
  }
  const allowed =
    (code >= 0xa0 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfdcf) ||
    (code >= 0xfdf0 && code <= 0xffef) ||
    (code >= 0x10000 &&
      code <= 0x10fffd &&
      (code & 0xfffe) !== 0xfffe &&
      !(code >= 0xe0000 && code < 0xe1000));
  if (!allowed) return 0;
  return code > 0xffff ? 2 : 1;
}

function checkPercentEncoded(text: string, index: number): void {
  const high = text.charCodeAt(index + 1);
  const low = text.charCodeAt(index + 2);
  if (!(high < 128 && CLASS_HEX[high] === 1 && low < 128 && CLASS_HEX[low] === 1)) {
    throw new UriTemplateSyntaxError(
      `"%" at character ${index + 1} must start a percent-encoded byte such as %20`,
      index,
    );
  }
}

function describeChar(text: string, index: number): string {
  const code = text.codePointAt(index)!;
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  const printable =
    code >= 0x20 &&
    code !== 0x7f &&
    !(code >= 0x80 && code < 0xa0) &&
    !(code >= 0xd800 && code < 0xe000);
  return printable ? `${JSON.stringify(String.fromCodePoint(code))} (U+${hex})` : `U+${hex}`;
}

/** Parses `[operator] variable-list` between `start` and the closing brace at `end`. */
function parseExpression(template: string, start: number, end: number): Expression {
  if (start === end) {
    throw new UriTemplateSyntaxError(`empty expression "{}" at character ${start}`, start - 1);
  }
  let i = start;
  const opChar = template[i]!;
  let operator = OPERATORS.get('')!;
  if (OPERATORS.has(opChar)) {
    operator = OPERATORS.get(opChar)!;
    i++;
  } else if (RESERVED_OPERATORS.includes(opChar)) {
    throw new UriTemplateSyntaxError(
      `operator "${opChar}" at character ${i + 1} is reserved by RFC 6570 and has no meaning yet`,
      i,
    );
  }
  const variables: VarSpec[] = [];
  for (;;) {
    const [spec, next] = parseVarSpec(template, i, end);
    variables.push(spec);
    if (next === end) break;
    // parseVarSpec stops only at a comma or at the end.
    i = next + 1;
  }
  return { operator, variables };
}

/**
 * RFC 6570 §2.3: `varspec = varname [ modifier-level4 ]`, `varname = varchar *( ["."] varchar )`,
 * `varchar = ALPHA / DIGIT / "_" / pct-encoded`, `prefix = ":" max-length` (1 to 9999),
 * `explode = "*"`. Returns the spec and the index of the comma or closing brace after it.
 */
function parseVarSpec(template: string, start: number, end: number): [VarSpec, number] {
  let i = start;
  let previousWasDot = false;
  while (i < end) {
    const code = template.charCodeAt(i);
    if (isVarChar(code)) {
      previousWasDot = false;
      i++;
    } else if (code === PERCENT) {
      checkPercentEncoded(template, i);
      previousWasDot = false;
      i += 3;
    } else if (code === DOT && i > start) {
      // Dots join varchars: never first, never last, never two in a row.
      if (previousWasDot) {
        throw new UriTemplateSyntaxError(
          `"." at character ${i + 1}: a variable name may not have two dots in a row`,
          i,
        );
      }
      previousWasDot = true;
      i++;
    } else {
      break;
    }
  }
  const name = template.slice(start, i);
  if (name === '') {
    const what = i === end ? 'the closing "}"' : describeChar(template, i);
    throw new UriTemplateSyntaxError(
      `expected a variable name at character ${i + 1}, found ${what}`,
      i,
    );
  }
  if (previousWasDot) {
    throw new UriTemplateSyntaxError(
      `variable name ${JSON.stringify(name)} at character ${start + 1} ends with "."`,
      i - 1,
    );
  }
  let explode = false;
  let prefix: number | undefined;
  const modifier = template.charCodeAt(i);
  if (modifier === ASTERISK) {
    explode = true;
    i++;
  } else if (modifier === COLON) {
    const digitsStart = i + 1;
    let j = digitsStart;
    while (j < end && j - digitsStart < 5 && isDigit(template.charCodeAt(j))) j++;
    const digits = template.slice(digitsStart, j);
    if (digits === '' || digits[0] === '0' || digits.length > 4) {
      throw new UriTemplateSyntaxError(
        `prefix of ${JSON.stringify(name)} at character ${i + 1} must be a length from 1 to 9999`,
        i,
      );
    }
    prefix = Number(digits);
    i = j;
  }
  if (i < end && template.charCodeAt(i) !== COMMA) {
    throw new UriTemplateSyntaxError(
      `unexpected ${describeChar(template, i)} at character ${i + 1} in expression; expected "," or "}"`,
      i,
    );
  }
  if (i < end && i + 1 === end) {
    throw new UriTemplateSyntaxError(`expected a variable name after "," at character ${i + 1}`, i);
  }
  return [{ name, explode, prefix }, i];
}

function isVarChar(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    isDigit(code) ||
    code === 0x5f
  );
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

// ---------------------------------------------------------------------------------------------
// Compilation to an NFA program, and the lock-step matcher.
//
// Instructions (one per index in the typed arrays):
//   CHAR c      consume the code unit c
//   CLASS t     consume one ASCII code unit whose bit is set in table t
//   SPLIT x, y  continue at both x and y (no input consumed)
//   JUMP x      continue at x
//   MATCH       accept, when the whole input is consumed
// ---------------------------------------------------------------------------------------------

const OP_CHAR = 0;
const OP_CLASS = 1;
const OP_SPLIT = 2;
const OP_JUMP = 3;
const OP_MATCH = 4;

class ProgramBuilder {
  readonly ops: number[] = [];
  readonly x: number[] = [];
  readonly y: number[] = [];
  readonly tables: CharTable[] = [];

  get pc(): number {
    return this.ops.length;
  }

  emit(op: number, x = 0, y = 0): number {
    this.ops.push(op);
    this.x.push(x);
    this.y.push(y);
    return this.ops.length - 1;
  }

  patchX(at: number, target: number): void {
    this.x[at] = target;
  }

  patchY(at: number, target: number): void {
    this.y[at] = target;
  }

  table(table: CharTable): number {
    let index = this.tables.indexOf(table);
    if (index === -1) index = this.tables.push(table) - 1;
    return index;
  }

  literal(text: string): void {
    for (let i = 0; i < text.length; i++) this.emit(OP_CHAR, text.charCodeAt(i));
  }

  /** `(?:[class]|%HH)*`: one value of an expression. */
  value(table: CharTable): void {
    const loop = this.emit(OP_SPLIT);
    const unit = this.emit(OP_SPLIT);
    this.patchX(loop, unit);
    this.patchX(unit, this.pc);
    this.emit(OP_CLASS, this.table(table));
    this.emit(OP_JUMP, loop);
    this.patchY(unit, this.pc);
    this.emit(OP_CHAR, PERCENT);
    this.emit(OP_CLASS, this.table(CLASS_HEX));
    this.emit(OP_CLASS, this.table(CLASS_HEX));
    this.emit(OP_JUMP, loop);
    this.patchY(loop, this.pc);
  }

  /**
   * `(?:first value (?:sep value){0,n})?` — an expression as Mercure matches it: optional as a
   * whole (every variable may be undefined), at most one more value than separators for a plain
   * variable list, any number of values as soon as one variable is exploded.
   */
  expression(expression: Expression): void {
    const { operator, variables } = expression;
    const anyExplode = variables.some((v) => v.explode);
    const table = valueTable(operator, anyExplode);
    const skipAll = this.emit(OP_SPLIT);
    this.patchX(skipAll, this.pc);
    const exits: number[] = [skipAll];
    this.literal(operator.first);
    this.value(table);
    if (anyExplode) {
      const loop = this.emit(OP_SPLIT);
      this.patchX(loop, this.pc);
      this.literal(operator.separator);
      this.value(table);
      this.emit(OP_JUMP, loop);
      exits.push(loop);
    } else {
      for (let n = 1; n < variables.length; n++) {
        const more = this.emit(OP_SPLIT);
        this.patchX(more, this.pc);
        exits.push(more);
        this.literal(operator.separator);
        this.value(table);
      }
    }
    for (const exit of exits) this.patchY(exit, this.pc);
  }
}

function valueTable(operator: Operator, explode: boolean): CharTable {
  if (operator.reserved) return CLASS_RESERVED;
  return operator.named || explode ? CLASS_UNRESERVED_PAIRS : CLASS_UNRESERVED;
}

/** Compiles a template to a matcher; throws UriTemplateSyntaxError on a malformed template. */
export function compileUriTemplate(template: string): UriTemplateMatcher {
  const parts = parseUriTemplate(template);
  // The leading and trailing literals are checked with startsWith/endsWith: most topics that
  // miss a template miss it there, before any state machine runs.
  const prefix = typeof parts[0] === 'string' ? (parts.shift() as string) : '';
  const suffix = typeof parts[parts.length - 1] === 'string' ? (parts.pop() as string) : '';
  const single = parts.length === 1 ? singleValueExpression(parts[0]!) : undefined;
  if (single !== undefined)
    return new SingleValueMatcher(prefix, suffix, single.first, single.table);
  const builder = new ProgramBuilder();
  for (const part of parts) {
    if (typeof part === 'string') builder.literal(part);
    else builder.expression(part);
  }
  builder.emit(OP_MATCH);
  return new NfaMatcher(prefix, suffix, builder);
}

/** The common shape `{id}`, `{+path}`, `{/id}`: one variable, not exploded — no NFA needed. */
function singleValueExpression(part: Part): { first: number; table: CharTable } | undefined {
  if (typeof part === 'string' || part.variables.length !== 1 || part.variables[0]!.explode) {
    return undefined;
  }
  const { operator } = part;
  return {
    first: operator.first === '' ? -1 : operator.first.charCodeAt(0),
    table: valueTable(operator, false),
  };
}

class SingleValueMatcher implements UriTemplateMatcher {
  readonly #prefix: string;
  readonly #suffix: string;
  readonly #first: number;
  readonly #table: CharTable;

  constructor(prefix: string, suffix: string, first: number, table: CharTable) {
    this.#prefix = prefix;
    this.#suffix = suffix;
    this.#first = first;
    this.#table = table;
  }

  matches(value: string): boolean {
    const end = value.length - this.#suffix.length;
    let i = this.#prefix.length;
    if (end < i || !value.startsWith(this.#prefix) || !value.endsWith(this.#suffix)) return false;
    // The expression is optional as a whole: nothing between the literals is a match.
    if (i === end) return true;
    if (this.#first !== -1) {
      if (value.charCodeAt(i) !== this.#first) return false;
      i++;
    }
    const table = this.#table;
    while (i < end) {
      const code = value.charCodeAt(i);
      if (code < 128 && table[code] === 1) {
        i++;
      } else if (code === PERCENT && isHexAt(value, i + 1, end)) {
        i += 3;
      } else {
        return false;
      }
    }
    return true;
  }
}

function isHexAt(value: string, index: number, end: number): boolean {
  if (index + 1 >= end) return false;
  const high = value.charCodeAt(index);
  const low = value.charCodeAt(index + 1);
  return high < 128 && CLASS_HEX[high] === 1 && low < 128 && CLASS_HEX[low] === 1;
}

class NfaMatcher implements UriTemplateMatcher {
  readonly #prefix: string;
  readonly #suffix: string;
  readonly #ops: Uint8Array;
  readonly #x: Int32Array;
  readonly #y: Int32Array;
  readonly #tables: readonly CharTable[];
  // Scratch space reused across calls (matching is synchronous, so never re-entered): the
  // current and next thread lists, a per-instruction "already listed in this step" stamp, and
  // the stack used to follow SPLIT/JUMP without recursion.
  readonly #current: Int32Array;
  readonly #next: Int32Array;
  readonly #stamp: Uint32Array;
  readonly #stack: Int32Array;
  #generation = 0;

  constructor(prefix: string, suffix: string, program: ProgramBuilder) {
    this.#prefix = prefix;
    this.#suffix = suffix;
    this.#ops = Uint8Array.from(program.ops);
    this.#x = Int32Array.from(program.x);
    this.#y = Int32Array.from(program.y);
    this.#tables = program.tables;
    const size = program.ops.length;
    this.#current = new Int32Array(size);
    this.#next = new Int32Array(size);
    this.#stamp = new Uint32Array(size);
    this.#stack = new Int32Array(size * 2 + 2);
  }

  matches(value: string): boolean {
    const start = this.#prefix.length;
    const end = value.length - this.#suffix.length;
    if (end < start || !value.startsWith(this.#prefix) || !value.endsWith(this.#suffix))
      return false;
    const ops = this.#ops;
    const x = this.#x;
    const tables = this.#tables;
    let current = this.#current;
    let next = this.#next;
    this.#nextGeneration();
    let count = this.#addThreads(current, 0, 0);
    for (let i = start; i < end && count > 0; i++) {
      const code = value.charCodeAt(i);
      this.#nextGeneration();
      let nextCount = 0;
      for (let t = 0; t < count; t++) {
        const pc = current[t]!;
        const op = ops[pc];
        const consumed =
          op === OP_CHAR
            ? x[pc] === code
            : op === OP_CLASS && code < 128 && tables[x[pc]!]![code] === 1;
        if (consumed) nextCount = this.#addThreads(next, nextCount, pc + 1);
      }
      const swap = current;
      current = next;
      next = swap;
      count = nextCount;
    }
    for (let t = 0; t < count; t++) if (ops[current[t]!] === OP_MATCH) return true;
    return false;
  }

  #nextGeneration(): void {
    if (this.#generation === 0xffffffff) {
      this.#stamp.fill(0);
      this.#generation = 0;
    }
    this.#generation++;
  }

  /**
   * Adds `pc` and everything reachable from it without consuming input to `list`, skipping
   * instructions already listed in this generation; returns the new count.
   */
  #addThreads(list: Int32Array, count: number, pc: number): number {
    const ops = this.#ops;
    const x = this.#x;
    const y = this.#y;
    const stamp = this.#stamp;
    const stack = this.#stack;
    const generation = this.#generation;
    let top = 0;
    stack[top++] = pc;
    while (top > 0) {
      const at = stack[--top]!;
      if (stamp[at] === generation) continue;
      stamp[at] = generation;
      const op = ops[at];
      if (op === OP_JUMP) {
        stack[top++] = x[at]!;
      } else if (op === OP_SPLIT) {
        stack[top++] = y[at]!;
        stack[top++] = x[at]!;
      } else {
        list[count++] = at;
      }
    }
    return count;
  }
}
