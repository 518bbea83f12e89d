import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type CryptoKey,
  createLocalJWKSet,
  createRemoteJWKSet,
  type FlattenedJWSInput,
  importSPKI,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import { AuthConfigError } from './auth-error.js';

export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';
export type AsymmetricAlgorithm =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';
export type SigningAlgorithm = HmacAlgorithm | AsymmetricAlgorithm;

/**
 * Where a role's verification key comes from. Keys come only from configuration — never from
 * the token (no `jku`, `x5u` or embedded `jwk` is followed).
 */
export type KeyConfig =
  /** A shared secret (its UTF-8 bytes), for HS256/384/512. */
  | { kind: 'secret'; secret: string; algorithms?: HmacAlgorithm[] }
  /** A public key as PEM: SPKI (`BEGIN PUBLIC KEY`), PKCS#1 RSA or an X.509 certificate. */
  | { kind: 'public-key'; pem: string; algorithms?: AsymmetricAlgorithm[] }
  /** A JSON Web Key Set of public keys, from a file (read once) or a URL (cached, refreshed on an unknown `kid`). */
  | { kind: 'jwks'; url?: string; file?: string; algorithms?: AsymmetricAlgorithm[] };

export type KeyRole = 'publisher' | 'subscriber';

type KeyMaterial = CryptoKey | Uint8Array;

/** A key ready to verify tokens: the algorithms it accepts and how to find the key for a header. */
export interface VerificationKey {
  readonly role: KeyRole;
  /** The only algorithms a token may use with this key; everything else is refused before verification. */
  readonly algorithms: readonly SigningAlgorithm[];
  /** Where the keys came from, for messages: "a shared secret", "an RSA public key", "the JWKS at ...". */
  readonly origin: string;
  getKey(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<KeyMaterial>;
}

/**
 * RFC 7518 §3.2: "A key of the same size as the hash output (for instance, 256 bits for
 * "HS256") or larger MUST be used with this algorithm."
 */
export const HMAC_MIN_BYTES: Readonly<Record<HmacAlgorithm, number>> = {
  HS256: 32,
  HS384: 48,
  HS512: 64,
};
const RSA_ALGORITHMS: AsymmetricAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];
const RSA_PSS_ALGORITHMS: AsymmetricAlgorithm[] = ['PS256', 'PS384', 'PS512'];
const EC_ALGORITHM_BY_CURVE: Record<string, AsymmetricAlgorithm> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};
/** Every public-key algorithm the hub verifies (a JWKS may use any of them). */
export const ASYMMETRIC_ALGORITHMS: readonly AsymmetricAlgorithm[] = [
  ...RSA_ALGORITHMS,
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** Loads and checks a role's key once, at start; a key that cannot work throws AuthConfigError. */
export async function loadVerificationKey(
  config: KeyConfig,
  role: KeyRole,
): Promise<VerificationKey> {
  switch (config.kind) {
    case 'secret':
      return loadSecret(config, role);
    case 'public-key':
      return loadPublicKey(config, role);
    case 'jwks':
      return loadJwks(config, role);
    default:
      throw new AuthConfigError(
        `the ${role} key has an unknown kind ${JSON.stringify((config as { kind: unknown }).kind)}; use "secret", "public-key" or "jwks"`,
      );
  }
}

const HMAC_HASH: Readonly<Record<HmacAlgorithm, string>> = {
  HS256: 'SHA-256',
  HS384: 'SHA-384',
  HS512: 'SHA-512',
};

function loadSecret(
  config: Extract<KeyConfig, { kind: 'secret' }>,
  role: KeyRole,
): VerificationKey {
  if (typeof config.secret !== 'string' || config.secret === '') {
    throw new AuthConfigError(`the ${role} secret is empty`);
  }
  const secret = new TextEncoder().encode(config.secret);
  const imported = new Map<string, Promise<CryptoKey>>();
  const fitting = (Object.keys(HMAC_MIN_BYTES) as HmacAlgorithm[]).filter(
    (alg) => secret.byteLength >= HMAC_MIN_BYTES[alg],
  );
  for (const alg of config.algorithms ?? []) {
    if (!(alg in HMAC_MIN_BYTES)) {
      throw new AuthConfigError(
        `the ${role} secret can only be used with HS256, HS384 or HS512, not ${alg}`,
      );
    }
    if (secret.byteLength < HMAC_MIN_BYTES[alg]) {
      throw new AuthConfigError(
        `the ${role} secret is ${secret.byteLength} bytes; ${alg} needs at least ${HMAC_MIN_BYTES[alg]} (RFC 7518 §3.2)`,
      );
    }
  }
  if (fitting.length === 0) {
    throw new AuthConfigError(
      `the ${role} secret is ${secret.byteLength} bytes; HS256 needs at least 32 (RFC 7518 §3.2)`,
    );
  }
  return {
    role,
    algorithms: config.algorithms?.length ? [...config.algorithms] : fitting,
    origin: 'a shared secret',
    // Handing jose the raw bytes makes it import them into WebCrypto on every verification,
    // a tenth of the publish path's CPU; each algorithm's key is imported once instead. A
    // header naming another algorithm gets the bytes, and jose refuses it as before.
    getKey: (header) => {
      const hash = HMAC_HASH[header.alg as HmacAlgorithm];
      if (hash === undefined) return Promise.resolve(secret);
      let key = imported.get(hash);
      if (key === undefined) {
        key = crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash }, false, ['verify']);
        imported.set(hash, key);
      }
      return key;
    },
  };
}

async function loadPublicKey(
  config: Extract<KeyConfig, { kind: 'public-key' }>,
  role: KeyRole,
): Promise<VerificationKey> {
  const pem = typeof config.pem === 'string' ? config.pem.trim() : '';
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new AuthConfigError(
      `the ${role} key is a private key; the hub needs only the public key (openssl pkey -in key.pem -pubout)`,
    );
  }
  let keyObject: KeyObject;
  try {
    keyObject = pem.includes('-----BEGIN CERTIFICATE-----')
      ? new X509Certificate(pem).publicKey
      : createPublicKey(pem);
  } catch (error) {
    throw new AuthConfigError(
      `the ${role} key is not a PEM public key or certificate: ${(error as Error).message}`,
    );
  }
  const { algorithms: fitting, description } = algorithmsForKey(keyObject, role);
  for (const alg of config.algorithms ?? []) {
    if (!fitting.includes(alg)) {
      throw new AuthConfigError(
        `the ${role} key is ${description}; ${alg} does not fit it (it fits ${fitting.join(', ')})`,
      );
    }
  }
  const algorithms = config.algorithms?.length ? [...config.algorithms] : fitting;
  const spki = keyObject.export({ type: 'spki', format: 'pem' }).toString();
  // WebCrypto keys are bound to one algorithm: import one per accepted algorithm, once.
  const keys = new Map<string, CryptoKey>();
  for (const alg of algorithms) keys.set(alg, await importSPKI(spki, alg));
  return {
    role,
    algorithms,
    origin: description,
    getKey: async (header) => keys.get(header.alg ?? '')!,
  };
}

function algorithmsForKey(
  key: KeyObject,
  role: KeyRole,
): { algorithms: AsymmetricAlgorithm[]; description: string } {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      const bits = details.modulusLength ?? 0;
      if (bits < 2048) {
        throw new AuthConfigError(
          `the ${role} key is a ${bits}-bit RSA key; RS/PS algorithms need at least 2048 bits`,
        );
      }
      return key.asymmetricKeyType === 'rsa'
        ? { algorithms: [...RSA_ALGORITHMS], description: `a ${bits}-bit RSA public key` }
        : { algorithms: [...RSA_PSS_ALGORITHMS], description: `a ${bits}-bit RSA-PSS public key` };
    }
    case 'ec': {
      const alg = EC_ALGORITHM_BY_CURVE[details.namedCurve ?? ''];
      if (alg === undefined) {
        throw new AuthConfigError(
          `the ${role} key is an EC key on curve ${details.namedCurve}; use P-256, P-384 or P-521`,
        );
      }
      return { algorithms: [alg], description: `an EC ${details.namedCurve} public key` };
    }
    case 'ed25519':
      return { algorithms: ['EdDSA'], description: 'an Ed25519 public key' };
    default:
      throw new AuthConfigError(
        `the ${role} key is a ${key.asymmetricKeyType} key; use an RSA, EC (P-256/384/521) or Ed25519 key`,
      );
  }
}

async function loadJwks(
  config: Extract<KeyConfig, { kind: 'jwks' }>,
  role: KeyRole,
): Promise<VerificationKey> {
  if ((config.url === undefined) === (config.file === undefined)) {
    throw new AuthConfigError(`the ${role} JWKS needs exactly one of a url or a file`);
  }
  for (const alg of config.algorithms ?? []) {
    if (!ASYMMETRIC_ALGORITHMS.includes(alg)) {
      throw new AuthConfigError(
        `the ${role} JWKS accepts public-key algorithms only (${ASYMMETRIC_ALGORITHMS.join(', ')}), not ${alg}`,
      );
    }
  }
  const algorithms = config.algorithms?.length
    ? [...config.algorithms]
    : [...ASYMMETRIC_ALGORITHMS];
  if (config.file !== undefined) {
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(await readFile(config.file, 'utf8')) as JSONWebKeySet;
    } catch (error) {
      throw new AuthConfigError(
        `cannot read the ${role} JWKS file ${config.file}: ${(error as Error).message}`,
      );
    }
    checkPublicJwks(jwks, `the ${role} JWKS file ${config.file}`);
    return {
      role,
      algorithms,
      origin: `the JWKS file ${config.file}`,
      getKey: createLocalJWKSet(jwks),
    };
  }
  let url: URL;
  try {
    url = new URL(config.url!);
  } catch {
    throw new AuthConfigError(`the ${role} JWKS url ${JSON.stringify(config.url)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AuthConfigError(`the ${role} JWKS url must be http(s), not ${url.protocol}`);
  }
  const remote = createRemoteJWKSet(url);
  try {
    // Fetched once now, so a wrong URL stops the hub at start instead of refusing every token.
    await remote.reload();
  } catch (error) {
    throw new AuthConfigError(
      `cannot load the ${role} JWKS from ${url.href}: ${withCauses(error as Error)}`,
    );
  }
  const jwks = remote.jwks();
  if (jwks !== undefined) checkPublicJwks(jwks, `the ${role} JWKS at ${url.href}`);
  return { role, algorithms, origin: `the JWKS at ${url.href}`, getKey: remote };
}

/** A JWKS for verification holds public keys only: a secret or private key there is a leak. */
function checkPublicJwks(jwks: JSONWebKeySet, where: string): void {
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(jwks.keys)) {
    throw new AuthConfigError(`${where} is not a JSON Web Key Set ({"keys": [...]})`);
  }
  if (jwks.keys.length === 0) throw new AuthConfigError(`${where} has no keys`);
  for (const [index, jwk] of jwks.keys.entries()) {
    if (jwk.kty === 'oct' || 'd' in jwk) {
      throw new AuthConfigError(
        `${where} holds a secret or private key at keys[${index}]; a verification JWKS must hold public keys only`,
      );
    }
  }
}

/** `fetch failed` says nothing by itself: the causes say what failed (refused, DNS, TLS). */
function withCauses(error: Error): string {
  const parts = [error.message];
  for (let cause = error.cause; cause instanceof Error && parts.length < 4; cause = cause.cause) {
    parts.push(cause.message);
  }
  return parts.join(': ');
}
