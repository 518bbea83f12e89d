import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Finds a system binary a test needs (nginx, chromium, redis-server, ...).
 *
 * Where it is missing the test should skip, with a message that says what to install; under
 * `CI=true` a missing binary is an error instead, so CI can never pass by skipping.
 *
 * @example
 * const nginx = requireBinary('nginx', 'nginx');
 * describe.skipIf(!nginx)('behind nginx', () => { ... });
 */
export function requireBinary(
  name: string,
  debianPackage: string,
  extraPaths: string[] = [],
): string | undefined {
  const found = findBinary(name, extraPaths);
  if (found) return found;
  const message = `${name} not found; install it with: apt-get install -y ${debianPackage}`;
  if (isCi()) throw new Error(`${message} (required when CI=true)`);
  console.warn(`skipping tests that need ${name}: ${message}`);
  return undefined;
}

export function findBinary(name: string, extraPaths: string[] = []): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/usr/local/bin',
  ];
  for (const candidate of [...extraPaths, ...dirs.map((dir) => join(dir, name))]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}
