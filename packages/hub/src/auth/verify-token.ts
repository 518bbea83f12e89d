import {
  decodeProtectedHeader,
  errors,
  type JWSHeaderParameters,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
} from 'jose';
import { AuthError } from './auth-error.js';
import type { VerificationKey } from './keys.js';
import { SOURCE_NAMES, type TokenSource } from './token-source.js';

/** base64url characters only, in a compact JWS's three parts. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/**
 * Verifies a compact JWS with a role's key and returns its payload, or throws an AuthError
 * that says what was wrong. The algorithm is pinned before any cryptography runs: the token's
 * `alg` must be one the key was configured for, so `alg: none` and algorithm confusion (an
 * HS256 token "signed" with an RSA public key as the secret) are refused by name.
 */
export async function verifyToken(
  token: string,
  key: VerificationKey,
  options: { source: TokenSource; clockToleranceSeconds: number },
): Promise<JWTPayload> {
  const where = SOURCE_NAMES[options.source];
  const keyName = `the ${key.role} key`;
  const header = readHeader(token, where);
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') {
    throw new AuthError(
      401,
      'malformed-token',
      `malformed token in ${where}: its header has no "alg"`,
    );
  }
  if (alg.toLowerCase() === 'none') {
    throw new AuthError(
      401,
      'wrong-algorithm',
      `wrong algorithm: the token in ${where} is unsigned ("alg": "none"); sign it with ${keyName} (${key.algorithms.join(', ')})`,
    );
  }
  if (!(key.algorithms as readonly string[]).includes(alg)) {
    throw new AuthError(
      401,
      'wrong-algorithm',
      `wrong algorithm: the token in ${where} is signed with ${JSON.stringify(alg).slice(0, 40)}, but ${keyName} (${key.origin}) accepts only ${key.algorithms.join(', ')}`,
    );
  }
  const verifyOptions = {
    algorithms: [...key.algorithms],
    clockTolerance: options.clockToleranceSeconds,
  };
  try {
    return (await jwtVerify(token, key.getKey, verifyOptions)).payload;
  } catch (error) {
    if (error instanceof errors.JWKSMultipleMatchingKeys) {
      return verifyWithCandidates(token, error, verifyOptions, where, keyName);
    }
    throw explain(error, where, keyName, header);
  }
}

/** Several keys of a JWKS fit the header (no `kid`): the token is valid if one of them signed it. */
async function verifyWithCandidates(
  token: string,
  candidates: errors.JWKSMultipleMatchingKeys,
  options: { algorithms: string[]; clockTolerance: number },
  where: string,
  keyName: string,
): Promise<JWTPayload> {
  let last: unknown;
  for await (const candidate of candidates) {
    try {
      return (await jwtVerify(token, candidate, options)).payload;
    } catch (error) {
      last = error;
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) break;
    }
  }
  throw explain(last, where, keyName, {});
}

function readHeader(token: string, where: string): ProtectedHeaderParameters {
  const parts = token.split('.').length;
  if (parts === 5) {
    throw new AuthError(
      401,
      'malformed-token',
      `malformed token in ${where}: it is an encrypted JWE; the hub accepts signed JWTs (JWS) only`,
    );
  }
  if (!COMPACT_JWS.test(token)) {
    throw new AuthError(
      401,
      'malformed-token',
      parts === 3
        ? `malformed token in ${where}: it has characters outside base64url (A-Z a-z 0-9 - _)`
        : `malformed token in ${where}: a JWT has 3 base64url parts separated by dots, this has ${parts}`,
    );
  }
  try {
    return decodeProtectedHeader(token);
  } catch {
    throw new AuthError(
      401,
      'malformed-token',
      `malformed token in ${where}: its header is not base64url-encoded JSON`,
    );
  }
}

function explain(
  error: unknown,
  where: string,
  keyName: string,
  header: JWSHeaderParameters,
): AuthError {
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new AuthError(
      401,
      'bad-signature',
      `bad signature: the token in ${where} was not signed with ${keyName}`,
    );
  }
  if (error instanceof errors.JWTExpired) {
    const exp = error.payload.exp;
    const when =
      typeof exp === 'number' ? ` at ${new Date(exp * 1000).toISOString()} (${ago(exp)})` : '';
    return new AuthError(
      401,
      'expired',
      `token expired${when}: the token in ${where} is no longer valid; get a fresh one`,
    );
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' && typeof error.payload.nbf === 'number') {
      return new AuthError(
        401,
        'not-yet-valid',
        `token not yet valid: the token in ${where} may be used from ${new Date(error.payload.nbf * 1000).toISOString()} ("nbf")`,
      );
    }
    return new AuthError(
      401,
      'malformed-token',
      `malformed token in ${where}: the "${error.claim}" claim is invalid (${error.message})`,
    );
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    const kid =
      header.kid === undefined ? 'no "kid"' : `"kid" ${JSON.stringify(header.kid).slice(0, 80)}`;
    return new AuthError(
      401,
      'unknown-key',
      `unknown key: no key of ${keyName} matches the token in ${where} (${kid}, "alg" ${header.alg})`,
    );
  }
  if (error instanceof errors.JWKSTimeout || isFetchFailure(error)) {
    return new AuthError(
      401,
      'key-unavailable',
      `cannot verify the token in ${where}: ${keyName} could not be fetched (${(error as Error).message})`,
    );
  }
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) {
    return new AuthError(
      401,
      'malformed-token',
      `malformed token in ${where}: ${lowerFirst(error.message)}`,
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new AuthError(
      401,
      'wrong-algorithm',
      `wrong algorithm: the token in ${where} uses ${header.alg}, which ${keyName} does not accept`,
    );
  }
  if (error instanceof errors.JOSEError) {
    return new AuthError(
      401,
      'malformed-token',
      `token refused (${where}): ${lowerFirst(error.message)}`,
    );
  }
  // A key that does not fit its algorithm (a TypeError from WebCrypto) and the like: still the
  // token's fault from the client's point of view, never a 500.
  return new AuthError(
    401,
    'bad-signature',
    `bad signature: the token in ${where} could not be verified with ${keyName} (${(error as Error)?.message ?? String(error)})`,
  );
}

function isFetchFailure(error: unknown): boolean {
  return (
    (error instanceof errors.JOSEError && /JSON Web Key Set HTTP response/.test(error.message)) ||
    (error instanceof TypeError && /fetch failed/.test(error.message))
  );
}

function ago(exp: number): string {
  const seconds = Math.max(0, Math.round(Date.now() / 1000 - exp));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

/** "Invalid thing" becomes "invalid thing" inside a sentence; "JWT ..." stays as it is. */
function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}
