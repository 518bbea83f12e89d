/**
 * The SSE id of a resumable stream's event: `<stream id>.<position>`. A client hands it back as
 * `Last-Event-ID` (or `?lastEventId=`), and it says both which stream and where in it, so any
 * instance sharing the store can resume it.
 */
export function resumableEventId(streamId: string, seq: number): string {
  return `${streamId}.${seq}`;
}

/**
 * Splits an id made by `resumableEventId`; undefined when `id` is not one. The stream id may
 * itself contain dots: the position is after the last one.
 */
export function parseResumableEventId(id: string): { streamId: string; seq: number } | undefined {
  const dot = id.lastIndexOf('.');
  if (dot <= 0 || dot === id.length - 1) return undefined;
  const digits = id.slice(dot + 1);
  // Digits only: Number() would also take "1e3", " 7" or "0x1f".
  if (!/^[0-9]{1,15}$/.test(digits)) return undefined;
  return { streamId: id.slice(0, dot), seq: Number(digits) };
}
