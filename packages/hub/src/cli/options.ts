import { parseBytes, parseDuration } from '../units.js';
import { nearestWord } from './nearest-word.js';

/**
 * How a command-line option is read and documented. One table per command drives the flag
 * parser, the environment variables, the config file and `--help`, so they cannot drift.
 */
export interface OptionSpec {
  /** The flag without dashes, kebab-case: `max-body`. Also the key in a config file. */
  readonly name: string;
  readonly type: 'string' | 'boolean' | 'integer' | 'bytes' | 'duration' | 'list' | 'repeatable';
  readonly description: string;
  /** Environment variable read when the flag is absent, e.g. `TIDINGS_MAX_BODY`. */
  readonly env?: string;
  /** Shown in help; the command applies defaults itself. */
  readonly defaultText?: string;
  /** Word shown after the flag in help: `--port <number>`. */
  readonly placeholder?: string;
  readonly short?: string;
  /** Smallest value accepted (integer, bytes and duration options; durations in ms). */
  readonly min?: number;
  /** Largest value accepted, so a value that would fail later is refused at start. */
  readonly max?: number;
  /** Why the range is what it is, appended to an out-of-range message. */
  readonly rangeNote?: string;
}

/** A mistake in how the command was called: printed with a hint to `--help`, exit code 2 (`EXIT_USAGE`). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionValue = string | number | boolean | string[];
export type OptionValues = Record<string, OptionValue | undefined>;

/**
 * Reads `--name value`, `--name=value`, `--flag`, `--no-flag` and `-x value`; repeatable
 * options collect every occurrence. `--` ends the options.
 *
 * @throws UsageError for an unknown flag or a missing value.
 */
export function parseFlags(
  argv: readonly string[],
  specs: readonly OptionSpec[],
): { values: OptionValues; positionals: string[]; given: Set<string> } {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const byShort = new Map(specs.filter((spec) => spec.short).map((spec) => [spec.short!, spec]));
  const raw: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    let spec: OptionSpec | undefined;
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
      inline = equals === -1 ? undefined : arg.slice(equals + 1);
      spec = byName.get(name);
      if (!spec && name.startsWith('no-') && inline === undefined) {
        const negated = byName.get(name.slice(3));
        if (negated?.type === 'boolean') {
          raw[negated.name] = false;
          continue;
        }
      }
    } else {
      name = arg.slice(1);
      spec = byShort.get(name);
    }
    if (!spec) throw new UsageError(`unknown option ${arg}${didYouMean(arg, specs)}`);
    if (spec.type === 'boolean') {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') {
        throw new UsageError(`--${spec.name} takes no value (or =true / =false), got "${inline}"`);
      }
      raw[spec.name] = inline !== 'false';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${spec.name} needs a value`);
    if (spec.type === 'repeatable') {
      const list = raw[spec.name];
      raw[spec.name] = Array.isArray(list) ? [...list, value] : [value];
    } else {
      raw[spec.name] = value;
    }
  }
  const values: OptionValues = {};
  for (const [name, value] of Object.entries(raw)) {
    values[name] = convert(byName.get(name)!, value, `--${name}`);
  }
  return { values, positionals, given: new Set(Object.keys(raw)) };
}

function didYouMean(arg: string, specs: readonly OptionSpec[]): string {
  const name = arg.replace(/^-+/, '').split('=', 1)[0]!;
  const nearest = nearestWord(
    name,
    specs.map((spec) => spec.name),
  );
  return nearest === undefined ? '' : `; did you mean --${nearest}?`;
}

/** Values from `TIDINGS_*` variables for options not given as flags. */
export function readEnvironment(
  specs: readonly OptionSpec[],
  env: NodeJS.ProcessEnv,
): OptionValues {
  const values: OptionValues = {};
  for (const spec of specs) {
    if (!spec.env) continue;
    const text = env[spec.env];
    if (text === undefined || text === '') continue;
    values[spec.name] = convert(
      spec,
      spec.type === 'boolean' ? parseBooleanText(text, spec.env) : text,
      spec.env,
    );
  }
  return values;
}

/**
 * Values from a JSON config file: an object whose keys are flag names
 * (`{"port": 3000, "transport": "memory://", "cors-origins": ["https://app.example"]}`).
 */
export function readConfigObject(
  specs: readonly OptionSpec[],
  object: unknown,
  file: string,
): OptionValues {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    throw new UsageError(`config file ${file} must hold a JSON object of option names to values`);
  }
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const values: OptionValues = {};
  for (const [key, value] of Object.entries(object)) {
    const spec = byName.get(key);
    if (!spec || spec.name === 'config') {
      throw new UsageError(
        `unknown option "${key}" in config file ${file} (see --help for the names)`,
      );
    }
    const what = `"${key}" in ${file}`;
    if (
      typeof value === 'number' &&
      spec.type !== 'string' &&
      spec.type !== 'list' &&
      spec.type !== 'repeatable'
    ) {
      values[key] = convert(spec, String(value), what);
    } else if (typeof value === 'boolean' && spec.type === 'boolean') {
      values[key] = value;
    } else if (typeof value === 'string' && spec.type !== 'boolean') {
      values[key] = convert(spec, spec.type === 'repeatable' ? [value] : value, what);
    } else if (
      Array.isArray(value) &&
      (spec.type === 'list' || spec.type === 'repeatable') &&
      value.every((v) => typeof v === 'string')
    ) {
      values[key] = value as string[];
    } else {
      throw new UsageError(`${what}: expected ${describeType(spec)}, got ${JSON.stringify(value)}`);
    }
  }
  return values;
}

function convert(spec: OptionSpec, value: string | boolean | string[], what: string): OptionValue {
  try {
    switch (spec.type) {
      case 'boolean':
        return value === true;
      case 'repeatable':
        return Array.isArray(value) ? value : [String(value)];
      case 'list':
        return String(value)
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== '');
      case 'integer': {
        const text = String(value);
        if (!/^\d+$/.test(text)) throw new RangeError(`${what}: "${text}" is not a whole number`);
        return checkRange(spec, Number(text), text, what);
      }
      case 'bytes':
        return checkRange(spec, parseBytes(String(value), what), String(value), what);
      case 'duration':
        return checkRange(spec, parseDuration(String(value), what), String(value), what);
      default:
        return String(value);
    }
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/** @throws RangeError naming the source, the value as written and the accepted range. */
function checkRange(spec: OptionSpec, value: number, text: string, what: string): number {
  const min = spec.min ?? 0;
  const max = Math.min(spec.max ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (value >= min && value <= max) return value;
  const unit = spec.type === 'duration' ? ' ms' : spec.type === 'bytes' ? ' bytes' : '';
  const range = spec.max === undefined ? `at least ${min}${unit}` : `from ${min} to ${max}${unit}`;
  const note = spec.rangeNote === undefined ? '' : ` (${spec.rangeNote})`;
  throw new RangeError(`${what}: "${text}" is out of range; use ${range}${note}`);
}

function parseBooleanText(text: string, what: string): boolean {
  const lower = text.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw new UsageError(`${what}: "${text}" is not a boolean (use true or false)`);
}

function describeType(spec: OptionSpec): string {
  switch (spec.type) {
    case 'boolean':
      return 'true or false';
    case 'integer':
      return 'a whole number';
    case 'bytes':
      return 'a size (number or string like "1MiB")';
    case 'duration':
      return 'a duration (ms, or a string like "30s")';
    case 'list':
    case 'repeatable':
      return 'a string or an array of strings';
    default:
      return 'a string';
  }
}

/** The options part of `--help`: one entry per option with its variable and default. */
export function formatOptionsHelp(specs: readonly OptionSpec[]): string {
  const lines: string[] = [];
  for (const spec of specs) {
    const placeholder = spec.type === 'boolean' ? '' : ` <${spec.placeholder ?? 'value'}>`;
    const short = spec.short ? `-${spec.short}, ` : '';
    lines.push(`  ${short}--${spec.name}${placeholder}`);
    const notes: string[] = [];
    if (spec.env) notes.push(`env ${spec.env}`);
    if (spec.defaultText) notes.push(`default ${spec.defaultText}`);
    if (spec.type === 'repeatable') notes.push('repeatable');
    lines.push(`      ${spec.description}${notes.length > 0 ? ` [${notes.join('; ')}]` : ''}`);
  }
  return lines.join('\n');
}
