import type { Principal } from './authenticator.js';
import { claimSelectors } from './claims.js';

/**
 * Draft-07, "Publishers": "If `mercure.publish` is not defined, or contains an empty array,
 * then the publisher MUST NOT be authorized to dispatch any update. Otherwise, the hub MUST
 * check that every topics of the update to dispatch matches at least one of the topic
 * selectors contained in `mercure.publish`." The reason (for a 403) names the first topic
 * that is not allowed.
 */
export function checkPublish(
  principal: Principal,
  topics: readonly string[],
): { ok: true } | { ok: false; reason: string } {
  const claimed = principal.claims.publish;
  if (claimed === undefined) {
    return { ok: false, reason: 'the token has no mercure.publish claim, so it may not publish' };
  }
  if (claimed.length === 0 && principal.draft === '08') {
    return {
      ok: false,
      reason:
        'the access token grants "publish" on no topic: add an authorization_details entry with "actions": ["publish"]',
    };
  }
  if (claimed.length === 0) {
    return {
      ok: false,
      reason: 'the mercure.publish claim of the token is empty, so it may not publish',
    };
  }
  const selectors = claimSelectors(claimed);
  for (const topic of topics) {
    if (!selectors.matchesAny([topic])) {
      return {
        ok: false,
        reason:
          principal.draft === '08'
            ? `not allowed to publish to topic ${quote(topic)}: no "publish" authorization detail of the token matches it`
            : `not allowed to publish to topic ${quote(topic)}: it matches none of the token's mercure.publish selectors (${listed(claimed)})`,
      };
    }
  }
  return { ok: true };
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 197)}...` : text);
}

function listed(selectors: readonly string[]): string {
  const shown = selectors.slice(0, 5).map(quote).join(', ');
  return selectors.length > 5 ? `${shown} and ${selectors.length - 5} more` : shown;
}
