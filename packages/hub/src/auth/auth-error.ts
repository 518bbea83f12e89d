/** What was wrong, as a stable code a program can branch on; the message says it to a person. */
export type AuthErrorCode =
  | 'no-token'
  | 'malformed-authorization-header'
  | 'malformed-token'
  | 'wrong-algorithm'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'unknown-key'
  | 'key-unavailable'
  | 'invalid-claims'
  | 'origin-not-allowed'
  | 'origin-missing'
  | 'topic-not-allowed';

/**
 * A refused request: 401 when the credentials are missing or not acceptable, 403 when they
 * are fine but do not allow what was asked. The message is one line that says exactly what
 * was wrong (no token, bad signature, expired and when, which topic...), so no one has to
 * guess at "the infamous 401".
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly status: 401 | 403;
  readonly code: AuthErrorCode;
  /**
   * RFC 9728: the URL of the hub's protected resource metadata, put in the challenge as
   * `resource_metadata` ("The challenge SHOULD include the `resource_metadata` parameter").
   */
  resourceMetadata: string | undefined;

  constructor(status: 401 | 403, code: AuthErrorCode, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /**
   * The `WWW-Authenticate` value for the response (RFC 6750 §3): `invalid_request` for a
   * malformed request, `invalid_token` for a token that cannot be accepted,
   * `insufficient_scope` for a 403, nothing but the scheme when no token was sent
   * ("the resource server SHOULD NOT include an error code").
   */
  get wwwAuthenticate(): string {
    const error =
      this.code === 'no-token'
        ? undefined
        : this.code === 'malformed-authorization-header'
          ? 'invalid_request'
          : this.status === 403
            ? 'insufficient_scope'
            : 'invalid_token';
    const metadata =
      this.resourceMetadata === undefined ? '' : `, resource_metadata="${this.resourceMetadata}"`;
    if (error === undefined) return `Bearer realm="mercure"${metadata}`;
    // error_description is a quoted-string of printable ASCII without `"` and `\`.
    const description = this.message.replace(/[^\x20-\x7e]|["\\]/g, (c) => (c === '"' ? "'" : '?'));
    return `Bearer realm="mercure", error="${error}", error_description="${description}"${metadata}`;
  }
}

/** A configuration that cannot work (a missing key file, a secret too short, ...): fix and restart. */
export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}
