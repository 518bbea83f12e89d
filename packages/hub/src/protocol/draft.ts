import { HttpError } from '../http/http-error.js';
import { isMatchParam, LAST_EVENT_ID_PARAM } from './draft-08.js';
import type { FormField } from './form-urlencoded.js';

/** The Mercure drafts a hub speaks: draft-07 (Mercure 0.x) and draft-08 (Mercure 1.0). */
export type MercureDraft = '07' | '08';

export const MERCURE_DRAFTS: readonly MercureDraft[] = ['07', '08'];

/**
 * Which draft a subscribe request speaks, by its parameters: `topic` and `lastEventID` are
 * draft-07's, the `match` namespace and `last_event_id` draft-08's. One hub serves both on
 * one endpoint, so a Symfony app on draft-07 and new clients on draft-08 can share it.
 *
 * @throws HttpError 400 for a request mixing both, or one in a draft the hub was told not to
 *   speak (`--mercure-drafts`).
 */
export function subscribeDraft(
  fields: readonly FormField[],
  enabled: readonly MercureDraft[],
): MercureDraft {
  let draft07: string | undefined;
  let draft08: string | undefined;
  for (const [name] of fields) {
    if (name === 'topic' || name === 'lastEventID') draft07 ??= name;
    else if (isMatchParam(name) || name === LAST_EVENT_ID_PARAM) draft08 ??= name;
  }
  if (draft07 !== undefined && draft08 !== undefined) {
    throw new HttpError(
      400,
      `the request mixes draft-07 ("${draft07}") and draft-08 ("${draft08}") parameters: use topic/lastEventID (draft-07) or match/match_urlpattern/last_event_id (draft-08), not both`,
    );
  }
  const draft: MercureDraft =
    draft08 !== undefined ? '08' : draft07 !== undefined ? '07' : (enabled[0] ?? '07');
  if (!enabled.includes(draft)) {
    throw new HttpError(
      400,
      draft === '07'
        ? 'this hub speaks Mercure draft-08 only: subscribe with match=<topic> or match_urlpattern=<URL pattern>, and last_event_id'
        : 'this hub speaks Mercure draft-07 only: subscribe with topic=<topic or URI template>, and lastEventID',
    );
  }
  return draft;
}
