/**
 * RFC 6570 URI Templates: the grammar, parsed into literals and expressions. Matching a string
 * against a parsed template is in `uri-template-matcher.ts`.
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

// Char codes used by the grammar.
const PERCENT = 0x25;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;
const DOT = 0x2e;
const COLON = 0x3a;
const ASTERISK = 0x2a;

/** RFC 5234 `HEXDIG`, either case (RFC 3986 §2.1: "uppercase and lowercase [...] are equivalent"). */
function isHexDigit(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) ||
    (code >= 0x41 && code <= 0x46) ||
    (code >= 0x61 && code <= 0x66)
  );
}

export interface Operator {
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

export interface VarSpec {
  readonly name: string;
  readonly explode: boolean;
  readonly prefix: number | undefined;
}

export interface Expression {
  readonly operator: Operator;
  readonly variables: readonly VarSpec[];
}

/** A literal (as written, percent-encoded triplets included) or an expression. */
export type UriTemplatePart = string | Expression;

/** Parses a template into literal strings and expressions; throws UriTemplateSyntaxError. */
export function parseUriTemplate(template: string): UriTemplatePart[] {
  const parts: UriTemplatePart[] = [];
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
  if (!(isHexDigit(text.charCodeAt(index + 1)) && isHexDigit(text.charCodeAt(index + 2)))) {
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
