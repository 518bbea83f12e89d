export { AllowedOrigins } from './allowed-origins.js';
export { AuthConfigError, AuthError, type AuthErrorCode } from './auth-error.js';
export {
  type AuthConfig,
  Authenticator,
  type Principal,
  RESOURCE_METADATA_PATH,
  resourceMetadataUrl,
} from './authenticator.js';
export {
  type AccessTokenContext,
  isAccessToken,
  MERCURE_AUTHORIZATION_DETAIL,
  readAccessToken,
} from './authorization-details.js';
export { checkPublish } from './check-publish.js';
export { claimSelectors, type MercureClaims, readMercureClaims } from './claims.js';
export {
  type AsymmetricAlgorithm,
  type HmacAlgorithm,
  type KeyConfig,
  type KeyRole,
  loadVerificationKey,
  type SigningAlgorithm,
  type VerificationKey,
} from './keys.js';
export {
  type GrantMatcher,
  type MintAccessTokenOptions,
  mintAccessToken,
} from './mint-access-token.js';
export { type MintTokenOptions, mintToken } from './mint-token.js';
export { SubscribeGrant } from './subscribe-grant.js';
export {
  type AuthRequest,
  DRAFT_08_COOKIE,
  type FoundToken,
  findToken,
  type TokenSource,
} from './token-source.js';
export { verifyToken } from './verify-token.js';
