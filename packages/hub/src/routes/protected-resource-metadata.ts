import type { IncomingMessage } from 'node:http';
import { MERCURE_AUTHORIZATION_DETAIL } from '../auth/index.js';
import { hubUrlOf } from '../http/hub-url.js';
import type { HubContext } from '../hub-context.js';

/**
 * Draft-08 "Protected Resource Metadata" (RFC 9728), served at
 * `/.well-known/oauth-protected-resource/.well-known/mercure`: what a client needs to get a
 * token for this hub without prior configuration. "a document that is published MUST include
 * the `resource` member"; `bearer_methods_supported` lists `header` only, "The cookie mechanism
 * is not a RFC 6750 bearer method [...] it is advertised by the separate `mercure_cookie`
 * member".
 */
export function protectedResourceMetadata(
  context: HubContext,
  request: IncomingMessage,
): Record<string, unknown> {
  const { options, auth } = context;
  const metadata: Record<string, unknown> = {
    resource: options.auth.audience ?? hubUrlOf(request, options),
    authorization_details_types_supported: [MERCURE_AUTHORIZATION_DETAIL],
    bearer_methods_supported: ['header'],
    mercure_cookie: auth.cookieName08,
  };
  if (options.subscriptions) metadata.mercure_subscriptions = true;
  return metadata;
}
