/**
 * The command line and results file handling every `bench:*` runner shares, so that a wrong
 * option is refused the same way everywhere: one line naming it, the usage, exit status 2,
 * before anything is started or written.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', default: false } } as const;
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O & typeof HELP }>
>['values'];

/** `parseArgs` with `--help` added; an unknown option or a missing value ends with the usage. */
export function parseOptions<const O extends Options>(usage: string, options: O): Values<O> {
  let values: Values<O>;
  try {
    ({ values } = parseArgs({ options: { ...options, ...HELP } }));
  } catch (error) {
    fail(`${(error as Error).message}\n\n${usage}`);
  }
  if ((values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}

/** The option's value as a positive integer, or exit with the reason. */
export function positiveInteger(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    fail(`--${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

/** A comma-separated option whose every item must be one of `allowed`. */
export function listOf<T extends string>(
  name: string,
  raw: string,
  allowed: readonly T[],
  usage: string,
): T[] {
  const items = raw.split(',');
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      fail(`--${name}: unknown "${item}", expected among ${allowed.join(', ')}\n\n${usage}`);
    }
  }
  return items as T[];
}

export function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

export interface TargetCheck {
  name: string;
  value: string;
  met: boolean;
}

/** A performance target: unmet when the figure was not measured. */
export function check(
  name: string,
  value: number | undefined,
  ok: (v: number) => boolean,
  format: (v: number) => string,
): TargetCheck {
  if (value === undefined || !Number.isFinite(value))
    return { name, value: 'not measured', met: false };
  return { name, value: format(value), met: ok(value) };
}

/** Writes bench/results/<name>.json and <name>.md. */
export function writeResults(name: string, json: unknown, markdown: string): void {
  const dir = fileURLToPath(new URL('../../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`${dir}${name}.md`, markdown);
  console.log(`wrote ${dir}${name}.json and ${name}.md`);
}
