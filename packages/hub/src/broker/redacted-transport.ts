/**
 * A transport URL as it may be shown in a message or a log: the password of its user
 * information and the value of every `…password…` query parameter replaced by `***`. The user
 * information ends at the last `@` before the query, so a password holding an unencoded `/`
 * or `?` is hidden too.
 */
export function redactedTransport(transport: string): string {
  const start = transport.indexOf('://');
  if (start < 0) return transport;
  const rest = transport.slice(start + 3);
  const query = rest.search(/[?#]/);
  const at = rest.lastIndexOf('@', query < 0 ? rest.length : query);
  let authority = rest;
  if (at >= 0) {
    const colon = rest.indexOf(':');
    if (colon >= 0 && colon < at) authority = `${rest.slice(0, colon)}:***${rest.slice(at)}`;
  }
  return `${transport.slice(0, start + 3)}${authority}`.replace(
    /([?&][^=&#]*password[^=&#]*=)[^&#]*/gi,
    '$1***',
  );
}
