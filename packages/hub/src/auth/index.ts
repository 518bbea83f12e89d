export { AllowedOrigins } from './allowed-origins.js';
export { AuthConfigError, AuthError, type AuthErrorCode } from './auth-error.js';
export { type AuthConfig, Authenticator, type Principal } from './authenticator.js';
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
export { type MintTokenOptions, mintToken } from './mint-token.js';
export { SubscribeGrant } from './subscribe-grant.js';
export { type AuthRequest, type FoundToken, findToken, type TokenSource } from './token-source.js';
export { verifyToken } from './verify-token.js';
