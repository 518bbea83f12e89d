import type { JWTPayload } from 'jose';
import { SelectorSet, TopicSelectorError } from '../topic-selector.js';
import { AuthError } from './auth-error.js';

/** The `mercure` claim of a token. */
export interface MercureClaims {
  /** Selectors of the topics the bearer may publish to. */
  publish?: string[];
  /** Selectors of the topics whose private updates the bearer may receive. */
  subscribe?: string[];
  /** Free data attached to the subscription ("the user ID of the subscriber, [...] groups"). */
  payload?: unknown;
}

// Compiled selectors of each claim list, built when the token is read and reused by
// checkPublish and SubscribeGrant for as long as the claims live.
const compiled = new WeakMap<readonly string[], SelectorSet>();

/** The compiled selectors of a claim list (compiled once per list). */
export function claimSelectors(selectors: readonly string[]): SelectorSet {
  let set = compiled.get(selectors);
  if (set === undefined) {
    set = new SelectorSet(selectors);
    compiled.set(selectors, set);
  }
  return set;
}

/**
 * Reads the `mercure` claim of a verified payload. A claim that is there but malformed is an
 * error (401), never silently ignored: a token that grants less than its issuer meant would
 * fail in confusing ways later, one that grants more must not exist.
 */
export function readMercureClaims(payload: JWTPayload): MercureClaims {
  const mercure = payload.mercure;
  if (mercure === undefined) return {};
  if (typeof mercure !== 'object' || mercure === null || Array.isArray(mercure)) {
    throw invalid('the mercure claim must be an object such as {"subscribe": ["*"]}');
  }
  const record = mercure as Record<string, unknown>;
  const claims: MercureClaims = {};
  const publish = readSelectors(record.publish, 'publish');
  if (publish !== undefined) claims.publish = publish;
  const subscribe = readSelectors(record.subscribe, 'subscribe');
  if (subscribe !== undefined) claims.subscribe = subscribe;
  if (record.payload !== undefined) claims.payload = record.payload;
  return claims;
}

function readSelectors(value: unknown, name: 'publish' | 'subscribe'): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    throw invalid(`mercure.${name} must be an array of topic selectors, not ${describe(value)}`);
  }
  for (const [index, selector] of value.entries()) {
    if (typeof selector !== 'string') {
      throw invalid(
        `mercure.${name}[${index}] must be a topic selector string, not ${describe(selector)}`,
      );
    }
  }
  const selectors = value as string[];
  try {
    claimSelectors(selectors);
  } catch (error) {
    if (error instanceof TopicSelectorError) {
      const index = selectors.indexOf(error.selector);
      throw invalid(`mercure.${name}[${index}]: ${error.message}`);
    }
    throw error;
  }
  return selectors;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object'
    ? 'an object'
    : `the ${typeof value} ${JSON.stringify(value)}`.slice(0, 80);
}

function invalid(reason: string): AuthError {
  return new AuthError(401, 'invalid-claims', `invalid token claims: ${reason}`);
}
