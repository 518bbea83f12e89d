/** A one-line reason for a failure, including the cause fetch implementations tuck away. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    // undici reports every network failure as "fetch failed" and puts the real reason
    // (ECONNREFUSED, a TLS failure, "other side closed") in `cause`.
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
