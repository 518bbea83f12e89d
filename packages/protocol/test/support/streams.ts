/** A ReadableStream that yields the given chunks, then closes. */
export function streamOf<T>(chunks: Iterable<T>): ReadableStream<T> {
  const items = [...chunks];
  return new ReadableStream<T>({
    start(controller) {
      for (const item of items) controller.enqueue(item);
      controller.close();
    },
  });
}

/** Reads a stream to its end. (Array.fromAsync only arrived in Node 22.) */
export async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const items: T[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return items;
    items.push(value);
  }
}
