import { AllowedOrigins } from './allowed-origins.js';
import { AuthError } from './auth-error.js';
import { type MercureClaims, readMercureClaims } from './claims.js';
import { type KeyConfig, type KeyRole, loadVerificationKey, type VerificationKey } from './keys.js';
import { type AuthRequest, findToken, type TokenSource } from './token-source.js';
import { verifyToken } from './verify-token.js';

export interface AuthConfig {
  publisherKey: KeyConfig;
  /** May be the same as `publisherKey`. */
  subscriberKey: KeyConfig;
  /** Subscribers without a token are let in (they receive public updates only). */
  anonymous: boolean;
  /**
   * Origins a browser page may use the hub from: checked for cookie authentication (CSRF) and
   * used for CORS. `*` allows any origin for requests without cookies only.
   */
  allowedOrigins: string[];
  /** Default `mercureAuthorization`. */
  cookieName?: string;
  /** Default `authorization`. */
  queryParam?: string;
  /** Leeway for `exp`, `nbf` and `iat` against clock skew between issuer and hub, in seconds. Default 0. */
  clockToleranceSeconds?: number;
}

/** Who made a request, as far as its token says. */
export interface Principal {
  claims: MercureClaims;
  /** From `exp`, in ms since the epoch: "the hub MUST close the connection at that time". */
  expiresAt?: number;
  token?: string;
  /** Where the token was found. */
  source?: TokenSource;
}

/**
 * Finds and verifies the token of a request, for the publisher or the subscriber role, with
 * keys loaded once at start (PEM, secret, JWKS file or URL). Every refusal is an AuthError
 * whose message says what was wrong.
 */
export class Authenticator {
  readonly allowedOrigins: AllowedOrigins;
  readonly anonymous: boolean;
  readonly cookieName: string;
  readonly queryParam: string;
  readonly #keys: Record<KeyRole, VerificationKey>;
  readonly #clockTolerance: number;

  private constructor(config: AuthConfig, keys: Record<KeyRole, VerificationKey>) {
    this.allowedOrigins = new AllowedOrigins(config.allowedOrigins);
    this.anonymous = config.anonymous;
    this.cookieName = config.cookieName ?? 'mercureAuthorization';
    this.queryParam = config.queryParam ?? 'authorization';
    this.#keys = keys;
    this.#clockTolerance = config.clockToleranceSeconds ?? 0;
  }

  /** Loads both keys; a configuration that cannot work throws AuthConfigError. */
  static async create(config: AuthConfig): Promise<Authenticator> {
    // Checked first: a typo in an origin should not wait for a JWKS fetch to be reported.
    new AllowedOrigins(config.allowedOrigins);
    const publisher = await loadVerificationKey(config.publisherKey, 'publisher');
    const subscriber =
      config.subscriberKey === config.publisherKey
        ? { ...publisher, role: 'subscriber' as const }
        : await loadVerificationKey(config.subscriberKey, 'subscriber');
    return new Authenticator(config, { publisher, subscriber });
  }

  /**
   * Finds the token (Authorization: Bearer, else the query parameter, else the cookie after an
   * Origin/Referer check) and verifies it with the role's key. Returns undefined for a request
   * without a token when the role may be anonymous (subscribers, when configured).
   * @throws AuthError
   */
  async authenticate(request: AuthRequest, role: KeyRole): Promise<Principal | undefined> {
    const found = findToken(request, { queryParam: this.queryParam, cookieName: this.cookieName });
    if (found === undefined) {
      if (role === 'subscriber' && this.anonymous) return undefined;
      throw new AuthError(401, 'no-token', this.#noTokenMessage(role));
    }
    if (found.source === 'cookie') this.allowedOrigins.checkCookieRequest(request.headers, role);
    return this.verify(found.token, role, found.source);
  }

  /** Verifies a token obtained some other way. @throws AuthError */
  async verify(token: string, role: KeyRole, source: TokenSource = 'header'): Promise<Principal> {
    const payload = await verifyToken(token, this.#keys[role], {
      source,
      clockToleranceSeconds: this.#clockTolerance,
    });
    const principal: Principal = { claims: readMercureClaims(payload), token, source };
    if (typeof payload.exp === 'number') principal.expiresAt = payload.exp * 1000;
    return principal;
  }

  #noTokenMessage(role: KeyRole): string {
    const how = `as "Authorization: Bearer <token>", the "${this.queryParam}" query parameter or the "${this.cookieName}" cookie`;
    return role === 'publisher'
      ? `no token: publishing needs a JWT signed with the publisher key with a mercure.publish claim, sent ${how}`
      : `no token: this hub does not accept anonymous subscribers; send a JWT signed with the subscriber key ${how}`;
  }
}
