import { SignJWT } from 'jose';
import { AuthConfigError } from './auth-error.js';
import { HMAC_MIN_BYTES, type HmacAlgorithm } from './keys.js';

export interface MintTokenOptions {
  secret: string;
  /** Default HS256. */
  algorithm?: HmacAlgorithm;
  /** `mercure.publish`: selectors the bearer may publish to. */
  publish?: string[];
  /** `mercure.subscribe`: selectors whose private updates the bearer may receive. */
  subscribe?: string[];
  /** `mercure.payload`: shown in subscription events. */
  payload?: unknown;
  /** Seconds from now, or a span such as "15m", "1h", "7 days". Without it the token does not expire. */
  expiresIn?: string | number;
  /** `sub`. */
  subject?: string;
}

/** Signs a Mercure JWT with a shared secret: for the CLI, tests and development. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const algorithm = options.algorithm ?? 'HS256';
  const secret = new TextEncoder().encode(options.secret);
  if (!(algorithm in HMAC_MIN_BYTES)) {
    throw new AuthConfigError(`mintToken signs with HS256, HS384 or HS512, not ${algorithm}`);
  }
  if (secret.byteLength < HMAC_MIN_BYTES[algorithm]) {
    throw new AuthConfigError(
      `the secret is ${secret.byteLength} bytes; ${algorithm} needs at least ${HMAC_MIN_BYTES[algorithm]} (RFC 7518 §3.2)`,
    );
  }
  const mercure: Record<string, unknown> = {};
  if (options.publish !== undefined) mercure.publish = options.publish;
  if (options.subscribe !== undefined) mercure.subscribe = options.subscribe;
  if (options.payload !== undefined) mercure.payload = options.payload;
  const jwt = new SignJWT({ mercure })
    .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
    .setIssuedAt();
  if (options.subject !== undefined) jwt.setSubject(options.subject);
  if (options.expiresIn !== undefined) {
    jwt.setExpirationTime(
      typeof options.expiresIn === 'number'
        ? Math.floor(Date.now() / 1000) + options.expiresIn
        : options.expiresIn,
    );
  }
  return jwt.sign(secret);
}
