import { decodeProtectedHeader } from 'jose';
import { HUB_PATH } from '../protocol/draft-07.js';
import { AllowedOrigins } from './allowed-origins.js';
import { AuthError } from './auth-error.js';
import { isAccessToken, readAccessToken } from './authorization-details.js';
import { type MercureClaims, readMercureClaims } from './claims.js';
import { type KeyConfig, type KeyRole, loadVerificationKey, type VerificationKey } from './keys.js';
import { type AuthRequest, DRAFT_08_COOKIE, findToken, type TokenSource } from './token-source.js';
import { VerifiedTokenCache } from './verified-token-cache.js';
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
  /** Draft-08 `--jwt-issuer`: when set, access tokens must carry exactly this `iss`. */
  issuer?: string;
  /**
   * Draft-08 `--jwt-audience`: the resource identifier access tokens must name in `aud`.
   * Default: the hub's URL (`publicUrl`, else derived from each request).
   */
  audience?: string;
  /** Draft-08 cookie name. Default `__Secure-mercure_access_token`. */
  cookieName08?: string;
}

/** Who made a request, as far as its token says. */
export interface Principal {
  claims: MercureClaims;
  /** From `exp`, in ms since the epoch: "the hub MUST close the connection at that time". */
  expiresAt?: number;
  token?: string;
  /** Where the token was found. */
  source?: TokenSource;
  /** `08` for an RFC 9068 access token with `authorization_details`, `07` for a `mercure` claim. */
  draft?: '07' | '08';
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
  readonly cookieName08: string;
  readonly #keys: Record<KeyRole, VerificationKey>;
  readonly #clockTolerance: number;
  readonly #issuer: string | undefined;
  readonly #audience: string | undefined;
  /** One per role: the two keys may differ, and a token verified by one says nothing of the other. */
  readonly #verified: Record<KeyRole, VerifiedTokenCache>;

  private constructor(config: AuthConfig, keys: Record<KeyRole, VerificationKey>) {
    this.allowedOrigins = new AllowedOrigins(config.allowedOrigins);
    this.anonymous = config.anonymous;
    this.cookieName = config.cookieName ?? 'mercureAuthorization';
    this.queryParam = config.queryParam ?? 'authorization';
    this.cookieName08 = config.cookieName08 ?? DRAFT_08_COOKIE;
    this.#keys = keys;
    this.#clockTolerance = config.clockToleranceSeconds ?? 0;
    this.#issuer = config.issuer;
    this.#audience = config.audience;
    this.#verified = {
      publisher: new VerifiedTokenCache(this.#clockTolerance),
      subscriber: new VerifiedTokenCache(this.#clockTolerance),
    };
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
    try {
      const found = findToken(request, {
        queryParam: request.draft === '08' ? undefined : this.queryParam,
        cookieName: request.draft === '08' ? this.cookieName08 : this.cookieName,
        cookieName08: request.draft === undefined ? this.cookieName08 : undefined,
      });
      if (found === undefined) {
        if (role === 'subscriber' && this.anonymous) return undefined;
        throw new AuthError(401, 'no-token', this.#noTokenMessage(role, request.draft));
      }
      if (found.source === 'cookie') this.allowedOrigins.checkCookieRequest(request.headers, role);
      const principal = await this.verify(found.token, role, found.source, request.hubUrl);
      if (request.draft === '08' && principal.draft !== '08') {
        throw new AuthError(
          401,
          'invalid-claims',
          'a draft-08 request needs an RFC 9068 access token ("typ": "at+jwt" with authorization_details); this token has a draft-07 mercure claim',
        );
      }
      return principal;
    } catch (error) {
      // RFC 9728: point every challenge at the metadata, so a client can find out what to send.
      if (error instanceof AuthError && request.hubUrl !== undefined) {
        error.resourceMetadata = resourceMetadataUrl(request.hubUrl);
      }
      throw error;
    }
  }

  /**
   * Verifies a token obtained some other way: a draft-07 token with a `mercure` claim, or a
   * draft-08 access token (`typ: at+jwt`, `authorization_details`) held to RFC 9068.
   * @param hubUrl the hub's URL, for the audience and URL patterns of access tokens.
   * @throws AuthError
   */
  async verify(
    token: string,
    role: KeyRole,
    source: TokenSource = 'header',
    hubUrl = 'http://hub.invalid/.well-known/mercure',
  ): Promise<Principal> {
    const verified = this.#verified[role];
    let payload = verified.get(token);
    if (payload === undefined) {
      payload = await verifyToken(token, this.#keys[role], {
        source,
        clockToleranceSeconds: this.#clockTolerance,
      });
      verified.set(token, payload);
    }
    const header = decodeProtectedHeader(token);
    const principal: Principal = isAccessToken(header, payload)
      ? {
          claims: readAccessToken(header, payload, {
            issuer: this.#issuer,
            audience: this.#audience ?? hubUrl,
            hubUrl,
          }),
          token,
          source,
          draft: '08',
        }
      : { claims: readMercureClaims(payload), token, source, draft: '07' };
    if (typeof payload.exp === 'number') principal.expiresAt = payload.exp * 1000;
    return principal;
  }

  #noTokenMessage(role: KeyRole, draft: '07' | '08' | undefined): string {
    const how =
      draft === '08'
        ? `as "Authorization: Bearer <token>" or the "${this.cookieName08}" cookie`
        : `as "Authorization: Bearer <token>", the "${this.queryParam}" query parameter or the "${this.cookieName}" cookie`;
    return role === 'publisher'
      ? `no token: publishing needs a JWT signed with the publisher key with a mercure.publish claim, sent ${how}`
      : `no token: this hub does not accept anonymous subscribers; send a JWT signed with the subscriber key ${how}`;
  }
}

/**
 * RFC 9728 §3: the metadata of a resource is at `/.well-known/oauth-protected-resource`
 * followed by the resource's path — for the default hub URL,
 * `/.well-known/oauth-protected-resource/.well-known/mercure`.
 */
export function resourceMetadataUrl(hubUrl: string): string {
  const url = new URL(hubUrl);
  return `${url.origin}/.well-known/oauth-protected-resource${url.pathname === '/' ? '' : url.pathname}`;
}

/** The metadata path for the hub's path. */
export const RESOURCE_METADATA_PATH = `/.well-known/oauth-protected-resource${HUB_PATH}`;
