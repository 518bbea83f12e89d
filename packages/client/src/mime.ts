// "HTTP whitespace": the characters trimmed around a MIME type's parts.
const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * The essence (`type/subtype`, lower-cased) of a `Content-Type` header value, or `''` when
 * there is none. Parameters are ignored, so `text/event-stream;charset=utf-8` and the
 * bare trailing semicolon of `text/event-stream;` both give `text/event-stream`.
 */
export function mimeEssence(contentType: string | null): string {
  if (contentType === null) return '';
  const semicolon = contentType.indexOf(';');
  const essence = semicolon === -1 ? contentType : contentType.slice(0, semicolon);
  return essence.replace(HTTP_WHITESPACE, '').toLowerCase();
}

/**
 * "if res's status is not 200, or if res's `Content-Type` is not `text/event-stream`, then
 * fail the connection": true when the response may be read as an event stream.
 */
export function isEventStream(contentType: string | null): boolean {
  return mimeEssence(contentType) === 'text/event-stream';
}
