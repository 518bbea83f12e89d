/**
 * Matching a string against an RFC 6570 URI template: "could this string be an expansion of
 * the template?" — the question a Mercure hub asks for every template topic selector.
 *
 * The rules are the ones Mercure applies (its Go template library turns a template into a
 * regular expression): literals match themselves; each expression matches, optionally, its
 * operator's first character followed by values made of the operator's allowed characters or
 * percent-encoded triplets, joined by the operator's separator — at most one value per variable,
 * any number once a variable is exploded. Prefix modifiers (`:3`) are accepted but not
 * enforced, and the names of `;`, `?` and `&` expressions are not checked — both as Mercure
 * does, so a selector matches here what it matches there. One deliberate difference: Mercure
 * lets `=` into an expression's first value only when its first variable is exploded, so
 * `{x,keys*}` misses its own expansion `semi=%3B,dot=.` when `x` is undefined; here `=` is
 * allowed in every value of an expression with an exploded variable, so every expansion of a
 * template matches it (a strict superset of Mercure's matches).
 *
 * Matching must take linear time whatever the template: subscribers choose templates,
 * publishers choose topics, and `{+a}{+b}{+c}{+d}` against a long near miss makes a
 * backtracking regular expression take polynomial time — a denial of service by query string.
 * So the template compiles to a Thompson NFA first, and then:
 * - when the NFA is deterministic (at every step at most one way forward can take the next
 *   character: true of `https://example.com/books/{id}`, `/users/{u}/books/{id}{?q*}` and most
 *   real templates), a backtracking engine never has a second path to try, so the template runs
 *   as a native `RegExp` — the fastest matcher there is in JavaScript;
 * - otherwise it runs as a DFA built lazily from the NFA (one state per set of NFA states
 *   reached, over the few character classes the template tells apart): one table lookup per
 *   character.
 */
import {
  type Expression,
  type Operator,
  parseUriTemplate,
  type UriTemplatePart,
} from './uri-template.js';

export interface UriTemplateMatcher {
  /** True when `value` is a possible expansion of the template. */
  matches(value: string): boolean;
  /** Which engine runs it (see above); for tests and diagnostics. */
  readonly engine: 'regexp' | 'dfa';
}

/** Compiles a template; throws UriTemplateSyntaxError when it is malformed. */
export function compileUriTemplate(template: string): UriTemplateMatcher {
  const parts = parseUriTemplate(template);
  if (isDeterministic(buildProgram(parts))) return new RegExpMatcher(templateRegExp(parts));
  // The leading and trailing literals are checked with startsWith/endsWith: most topics that
  // miss a template miss it there, before the automaton runs.
  const prefix = typeof parts[0] === 'string' ? (parts.shift() as string) : '';
  const suffix = typeof parts[parts.length - 1] === 'string' ? (parts.pop() as string) : '';
  return new DfaMatcher(prefix, suffix, buildProgram(parts));
}

function buildProgram(parts: readonly UriTemplatePart[]): ProgramBuilder {
  const program = new ProgramBuilder();
  for (const part of parts) {
    if (typeof part === 'string') program.literal(part);
    else program.expression(part);
  }
  program.emit(OP_MATCH);
  return program;
}

// ---------------------------------------------------------------------------------------------
// Character classes
// ---------------------------------------------------------------------------------------------

const PERCENT = 0x25;

/** An ASCII membership table: `table[code] === 1` when the character belongs to the class. */
type CharTable = Uint8Array;

function charTable(chars: string): CharTable {
  const table = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  return table;
}

/** RFC 3986 `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`. */
const UNRESERVED = '-._~ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** RFC 3986 `reserved = gen-delims / sub-delims`. */
const RESERVED = ":/?#[]@!$&'()*+,;=";

// The characters of an expression's values. A comma passes everywhere (a list expands to
// `a,b,c`), `=` where a `name=value` or an exploded `key=value` pair may appear; the reserved
// operators (`+`, `#`) let every reserved character through.
const VALUE_UNRESERVED = charTable(UNRESERVED + ',');
const VALUE_UNRESERVED_PAIRS = charTable(UNRESERVED + ',=');
const VALUE_RESERVED = charTable(UNRESERVED + RESERVED);
const HEX_DIGIT = charTable('0123456789ABCDEFabcdef');

function valueTable(operator: Operator, explode: boolean): CharTable {
  if (operator.reserved) return VALUE_RESERVED;
  return operator.named || explode ? VALUE_UNRESERVED_PAIRS : VALUE_UNRESERVED;
}

// ---------------------------------------------------------------------------------------------
// The NFA program. Instructions, one per index:
//   CHAR c      consume the code unit c
//   CLASS t     consume one ASCII code unit whose bit is set in table t
//   SPLIT x, y  continue at both x and y, consuming nothing
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

  #table(table: CharTable): number {
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
    this.emit(OP_CLASS, this.#table(table));
    this.emit(OP_JUMP, loop);
    this.patchY(unit, this.pc);
    this.emit(OP_CHAR, PERCENT);
    this.emit(OP_CLASS, this.#table(HEX_DIGIT));
    this.emit(OP_CLASS, this.#table(HEX_DIGIT));
    this.emit(OP_JUMP, loop);
    this.patchY(loop, this.pc);
  }

  /**
   * `(?:first value (?:sep value){0,n-1})?`, or `(?:first value (?:sep value)*)?` when a variable
   * is exploded: optional as a whole, since every variable may be undefined.
   */
  expression({ operator, variables }: Expression): void {
    const exploded = variables.some((v) => v.explode);
    const table = valueTable(operator, exploded);
    const skip = this.emit(OP_SPLIT);
    this.patchX(skip, this.pc);
    const exits = [skip];
    this.literal(operator.first);
    this.value(table);
    if (exploded) {
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

// ---------------------------------------------------------------------------------------------
// Deterministic templates: a native RegExp
// ---------------------------------------------------------------------------------------------

/**
 * True when no epsilon closure of the program holds two instructions that can take the same
 * character. Then every DFA state is the closure of a single instruction, and a backtracking
 * engine running the same pattern abandons every wrong alternative at its first character:
 * linear time.
 */
function isDeterministic(program: ProgramBuilder): boolean {
  const { ops, x, y, tables } = program;
  const closure = (start: number): number[] => {
    const seen = new Set<number>();
    const consuming: number[] = [];
    const stack = [start];
    while (stack.length > 0) {
      const pc = stack.pop()!;
      if (seen.has(pc)) continue;
      seen.add(pc);
      if (ops[pc] === OP_JUMP) stack.push(x[pc]!);
      else if (ops[pc] === OP_SPLIT) stack.push(x[pc]!, y[pc]!);
      else if (ops[pc] !== OP_MATCH) consuming.push(pc);
    }
    return consuming;
  };
  const takes = (pc: number, code: number): boolean =>
    ops[pc] === OP_CHAR ? x[pc] === code : code < 128 && tables[x[pc]!]![code] === 1;
  const overlap = (a: number, b: number): boolean => {
    if (ops[a] === OP_CHAR) return takes(b, x[a]!);
    if (ops[b] === OP_CHAR) return takes(a, x[b]!);
    for (let code = 0; code < 128; code++) if (takes(a, code) && takes(b, code)) return true;
    return false;
  };
  const starts = [0];
  for (let pc = 0; pc < ops.length; pc++) {
    if (ops[pc] === OP_CHAR || ops[pc] === OP_CLASS) starts.push(pc + 1);
  }
  for (const start of starts) {
    const consuming = closure(start);
    for (let i = 0; i < consuming.length; i++) {
      for (let j = i + 1; j < consuming.length; j++) {
        if (overlap(consuming[i]!, consuming[j]!)) return false;
      }
    }
  }
  return true;
}

/** The same language as the program, as a pattern: literals, then `(?:first value (?:sep value){0,n})?`. */
function templateRegExp(parts: readonly UriTemplatePart[]): RegExp {
  let source = '^';
  for (const part of parts) {
    if (typeof part === 'string') {
      source += escapeCodeUnits(part);
      continue;
    }
    const exploded = part.variables.some((v) => v.explode);
    const value = `(?:[${classSource(valueTable(part.operator, exploded))}]|%[0-9A-Fa-f]{2})*`;
    const more = exploded ? '*' : `{0,${part.variables.length - 1}}`;
    source += `(?:${escapeCodeUnits(part.operator.first)}${value}(?:${escapeCodeUnits(part.operator.separator)}${value})${more})?`;
  }
  // No flags: no `u` (code units, as the DFA), no `g`/`y` (no lastIndex state between calls).
  return new RegExp(`${source}$`);
}

/** Every code unit as `\uXXXX`: nothing in a literal can mean anything to the pattern. */
function escapeCodeUnits(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++)
    out += `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

function classSource(table: CharTable): string {
  let out = '';
  for (let code = 0; code < 128; code++)
    if (table[code] === 1) out += `\\x${code.toString(16).padStart(2, '0')}`;
  return out;
}

class RegExpMatcher implements UriTemplateMatcher {
  readonly engine = 'regexp';
  readonly #pattern: RegExp;

  constructor(pattern: RegExp) {
    this.#pattern = pattern;
  }

  matches(value: string): boolean {
    return this.#pattern.test(value);
  }
}

// ---------------------------------------------------------------------------------------------
// The lazily built DFA
// ---------------------------------------------------------------------------------------------

/** A transition not computed yet. */
const UNKNOWN = -1;
/** State 0 is the empty set of NFA states: no match is possible any more. */
const DEAD = 0;
/**
 * States kept before the cache is flushed and rebuilt (as RE2 does): typical templates need a
 * handful; a hostile one cannot make the table grow without bound.
 */
const MAX_STATES = 256;

class DfaMatcher implements UriTemplateMatcher {
  readonly engine = 'dfa';
  readonly #prefix: string;
  readonly #suffix: string;
  readonly #ops: Uint8Array;
  readonly #x: Int32Array;
  readonly #y: Int32Array;
  readonly #tables: readonly CharTable[];

  // The alphabet: ASCII code units the template cannot tell apart share a class; non-ASCII
  // code units of its literals get a class each; every other non-ASCII code unit shares one.
  readonly #asciiClass = new Uint8Array(128);
  readonly #wideClass = new Map<number, number>();
  readonly #otherClass: number;
  readonly #classCount: number;
  /** A code unit of each class, to compute transitions with (-1: matched by nothing). */
  readonly #representative: number[] = [];

  // DFA states: the sorted NFA instructions of each, whether it accepts, its transitions.
  #sets: Int32Array[] = [];
  #ids = new Map<string, number>();
  #accepting = new Uint8Array(16);
  #next = new Int32Array(16);
  #start = UNKNOWN;
  /** Counts flushes: a transition computed across a flush must not be recorded. */
  #epoch = 0;

  // Scratch space for the epsilon closure (matching is synchronous, so never re-entered).
  readonly #stamp: Uint32Array;
  readonly #stack: Int32Array;
  readonly #found: Int32Array;
  #generation = 0;

  constructor(prefix: string, suffix: string, program: ProgramBuilder) {
    this.#prefix = prefix;
    this.#suffix = suffix;
    this.#ops = Uint8Array.from(program.ops);
    this.#x = Int32Array.from(program.x);
    this.#y = Int32Array.from(program.y);
    this.#tables = program.tables;
    const size = program.ops.length;
    this.#stamp = new Uint32Array(size);
    this.#stack = new Int32Array(size * 2 + 2);
    this.#found = new Int32Array(size);

    const literals = new Set<number>();
    for (let pc = 0; pc < size; pc++) if (this.#ops[pc] === OP_CHAR) literals.add(this.#x[pc]!);
    const bySignature = new Map<string, number>();
    for (let code = 0; code < 128; code++) {
      const signature = `${this.#tables.map((table) => table[code]).join('')}:${literals.has(code) ? code : ''}`;
      let id = bySignature.get(signature);
      if (id === undefined) {
        id = this.#representative.push(code) - 1;
        bySignature.set(signature, id);
      }
      this.#asciiClass[code] = id;
    }
    for (const code of literals) {
      if (code >= 128) this.#wideClass.set(code, this.#representative.push(code) - 1);
    }
    this.#otherClass = this.#representative.push(-1) - 1;
    this.#classCount = this.#representative.length;
    this.#reset();
  }

  matches(value: string): boolean {
    const start = this.#prefix.length;
    const end = value.length - this.#suffix.length;
    if (end < start || !value.startsWith(this.#prefix) || !value.endsWith(this.#suffix))
      return false;
    const classCount = this.#classCount;
    const asciiClass = this.#asciiClass;
    let state = this.#start;
    if (state === UNKNOWN) state = this.#start = this.#intern(this.#closure([0]));
    for (let i = start; i < end; i++) {
      const code = value.charCodeAt(i);
      const cls = code < 128 ? asciiClass[code]! : (this.#wideClass.get(code) ?? this.#otherClass);
      let next = this.#next[state * classCount + cls]!;
      if (next === UNKNOWN) next = this.#step(state, cls);
      if (next === DEAD) return false;
      state = next;
    }
    return this.#accepting[state] === 1;
  }

  /** Computes (and records) where `state` goes on a character of class `cls`. */
  #step(state: number, cls: number): number {
    const set = this.#sets[state]!;
    const code = this.#representative[cls]!;
    const targets: number[] = [];
    for (const pc of set) {
      const op = this.#ops[pc];
      const consumes =
        op === OP_CHAR
          ? this.#x[pc] === code
          : op === OP_CLASS && code >= 0 && code < 128 && this.#tables[this.#x[pc]!]![code] === 1;
      if (consumes) targets.push(pc + 1);
    }
    const epoch = this.#epoch;
    const next = this.#intern(this.#closure(targets));
    // Recorded only if the cache was not flushed meanwhile (then `state` is gone).
    if (this.#epoch === epoch) this.#next[state * this.#classCount + cls] = next;
    return next;
  }

  /** The instructions reachable from `pcs` without consuming input, sorted: a DFA state. */
  #closure(pcs: readonly number[]): Int32Array {
    if (this.#generation === 0xffffffff) {
      this.#stamp.fill(0);
      this.#generation = 0;
    }
    const generation = ++this.#generation;
    const ops = this.#ops;
    const stamp = this.#stamp;
    const stack = this.#stack;
    const found = this.#found;
    let count = 0;
    for (const pc of pcs) {
      let top = 0;
      stack[top++] = pc;
      while (top > 0) {
        const at = stack[--top]!;
        if (stamp[at] === generation) continue;
        stamp[at] = generation;
        const op = ops[at];
        if (op === OP_JUMP) {
          stack[top++] = this.#x[at]!;
        } else if (op === OP_SPLIT) {
          stack[top++] = this.#y[at]!;
          stack[top++] = this.#x[at]!;
        } else {
          found[count++] = at;
        }
      }
    }
    return found.slice(0, count).sort();
  }

  /** The state for a set of instructions, created when new. */
  #intern(set: Int32Array): number {
    const key = set.join(',');
    const known = this.#ids.get(key);
    if (known !== undefined) return known;
    if (this.#sets.length >= MAX_STATES) this.#reset();
    const id = this.#sets.push(set) - 1;
    this.#ids.set(key, id);
    if (id >= this.#accepting.length) {
      const accepting = new Uint8Array(this.#accepting.length * 2);
      accepting.set(this.#accepting);
      this.#accepting = accepting;
      const next = new Int32Array(accepting.length * this.#classCount).fill(UNKNOWN);
      next.set(this.#next);
      this.#next = next;
    }
    this.#accepting[id] = set.some((pc) => this.#ops[pc] === OP_MATCH) ? 1 : 0;
    return id;
  }

  /** Forgets every state but the dead one. */
  #reset(): void {
    this.#epoch++;
    this.#sets = [new Int32Array(0)];
    this.#ids = new Map([['', DEAD]]);
    this.#accepting = new Uint8Array(16);
    this.#next = new Int32Array(16 * this.#classCount).fill(UNKNOWN);
    // The dead state goes nowhere but to itself.
    this.#next.fill(DEAD, 0, this.#classCount);
    this.#start = UNKNOWN;
  }
}
