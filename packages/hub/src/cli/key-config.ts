import { readFileSync } from 'node:fs';
import type { KeyConfig } from '../auth/index.js';
import {
  ASYMMETRIC_ALGORITHMS,
  type AsymmetricAlgorithm,
  HMAC_MIN_BYTES,
  type HmacAlgorithm,
} from '../auth/keys.js';
import { UsageError } from './options.js';

// From the lists the key reader checks against, so the CLI cannot offer one it refuses.
const HMAC = Object.keys(HMAC_MIN_BYTES) as HmacAlgorithm[];
/** Every value `--jwt-algorithm` takes: the HMAC ones for a secret, the others for a public key. */
export const JWT_ALGORITHMS: readonly string[] = [...HMAC, ...ASYMMETRIC_ALGORITHMS];

/**
 * Reads a JWT key option. One value covers every kind of key:
 *
 * - `https://...` or `http://...`: a JWKS URL;
 * - `@path`: a file holding a PEM public key, a JWKS document or a secret;
 * - `-----BEGIN PUBLIC KEY-----...`: a PEM public key inline;
 * - anything else: an HMAC secret (at least 32 bytes for HS256, RFC 7518 §3.2).
 *
 * @param algorithm `--jwt-algorithm`, checked against the kind of key.
 */
export function keyConfigFrom(
  value: string,
  algorithm: string | undefined,
  what: string,
): KeyConfig {
  if (/^https?:\/\//i.test(value)) {
    if (algorithm)
      throw new UsageError(
        `${what}: --jwt-algorithm does not apply to a JWKS (each key names its own)`,
      );
    return { kind: 'jwks', url: value };
  }
  let text = value;
  let file: string | undefined;
  if (value.startsWith('@')) {
    file = value.slice(1);
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new UsageError(`${what}: cannot read key file ${file}: ${(error as Error).message}`);
    }
    if (text.startsWith('{')) {
      if (algorithm)
        throw new UsageError(
          `${what}: --jwt-algorithm does not apply to a JWKS (each key names its own)`,
        );
      return { kind: 'jwks', file };
    }
  }
  if (text.startsWith('-----BEGIN')) {
    if (
      algorithm !== undefined &&
      !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(algorithm)
    ) {
      throw new UsageError(
        `${what}: a PEM public key needs --jwt-algorithm ${ASYMMETRIC_ALGORITHMS.join('|')}, got ${algorithm}`,
      );
    }
    return {
      kind: 'public-key',
      pem: text,
      algorithms: [(algorithm ?? 'RS256') as AsymmetricAlgorithm],
    };
  }
  if (algorithm !== undefined && !(HMAC as readonly string[]).includes(algorithm)) {
    throw new UsageError(
      `${what}: a shared secret needs --jwt-algorithm ${HMAC.join('|')}, got ${algorithm}`,
    );
  }
  return {
    kind: 'secret',
    secret: text,
    algorithms: [(algorithm ?? 'HS256') as HmacAlgorithm],
  };
}
