import type { JWTPayload } from 'jose';

/** Tokens remembered at most; the one verified longest ago makes room for a new one. */
const MAX_ENTRIES = 1000;
/**
 * How long one verification is trusted at most, whatever the token's `exp`: a key withdrawn
 * from a remote JWKS admits the tokens it signed for at most this much longer.
 */
const MAX_AGE_MS = 60_000;
/** Longer tokens are verified every time, so the memory kept stays bounded (about 8 MB). */
const MAX_TOKEN_LENGTH = 8192;

interface Entry {
  payload: JWTPayload;
  /** ms since the epoch from which the verification no longer counts. */
  validUntil: number;
}

/**
 * The payloads of tokens whose signature and time claims one key has already verified, keyed
 * by the exact token string. A publisher sends the same token with every update; verifying it
 * each time is a WebCrypto HMAC or signature check that runs on the thread pool, so the answer
 * waits for a round trip through the event loop on top of the CPU it costs.
 *
 * Only successful verifications are kept, so a refused token is checked (and explained) anew
 * each time. A kept token stops counting at the instant the verifier would call it expired:
 * jose refuses `exp <= now - tolerance` with `now` in whole seconds, which is the same as
 * `Date.now() >= ceil(exp + tolerance) * 1000`. `nbf` needs no such care: a token that was
 * already valid stays so as time goes on. The payload is shared between requests: read it,
 * never change it.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #clockToleranceSeconds: number;
  readonly #now: () => number;

  constructor(clockToleranceSeconds: number, now: () => number = () => Date.now()) {
    this.#clockToleranceSeconds = clockToleranceSeconds;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The payload of `token` when it was verified and still counts; else undefined. */
  get(token: string): JWTPayload | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (this.#now() < entry.validUntil) return entry.payload;
    this.#entries.delete(token);
    return undefined;
  }

  /** Remembers that `token` verified with this payload, just now. */
  set(token: string, payload: JWTPayload): void {
    if (token.length > MAX_TOKEN_LENGTH) return;
    const now = this.#now();
    let validUntil = now + MAX_AGE_MS;
    if (typeof payload.exp === 'number') {
      validUntil = Math.min(
        validUntil,
        Math.ceil(payload.exp + this.#clockToleranceSeconds) * 1000,
      );
    }
    if (validUntil <= now) return;
    this.#entries.delete(token);
    if (this.#entries.size >= MAX_ENTRIES) {
      // A Map iterates in insertion order: the first key is the oldest verification.
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
    this.#entries.set(token, { payload, validUntil });
  }
}

export const VERIFIED_TOKEN_LIMITS = { MAX_ENTRIES, MAX_AGE_MS, MAX_TOKEN_LENGTH } as const;
