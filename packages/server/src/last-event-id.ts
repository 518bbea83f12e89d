/**
 * The id a reconnecting client resumes from: the `Last-Event-ID` header, which EventSource
 * sends on every reconnection, else the query parameter `param` for clients that cannot set
 * headers (a first connection of EventSource, which may carry the id it saved itself).
 * `""` when neither is present. The spec's client never sends an empty header, so an empty
 * header counts as absent.
 */
export function readLastEventId(
  header: string | string[] | null | undefined,
  url: string | undefined,
  param: string | undefined,
): string {
  if (typeof header === 'string' && header !== '') return header;
  if (Array.isArray(header) && header[0] !== undefined && header[0] !== '') return header[0];
  if (param === undefined || url === undefined) return '';
  const query = url.indexOf('?');
  if (query === -1) return '';
  const hash = url.indexOf('#', query);
  return new URLSearchParams(url.slice(query + 1, hash === -1 ? undefined : hash)).get(param) ?? '';
}
