// The Page Visibility API, read through globalThis so that Node and workers (which have no
// document) simply report "always visible" instead of failing.
interface VisibilityDocument {
  visibilityState?: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

function visibilityDocument(): VisibilityDocument | undefined {
  const document = (globalThis as { document?: VisibilityDocument }).document;
  return typeof document?.visibilityState === 'string' ? document : undefined;
}

/** True only in a page that is hidden right now (a background tab, a minimised window). */
export function isPageHidden(): boolean {
  return visibilityDocument()?.visibilityState === 'hidden';
}

/**
 * Calls `listener` on every visibility change of the page; returns the unsubscribe. Does
 * nothing where there is no page.
 */
export function onVisibilityChange(listener: (hidden: boolean) => void): () => void {
  const document = visibilityDocument();
  if (document === undefined) return () => {};
  const handler = (): void => listener(document.visibilityState === 'hidden');
  document.addEventListener('visibilitychange', handler);
  return () => document.removeEventListener('visibilitychange', handler);
}

/** Resolves when the page is visible (at once if it is, or if there is no page) or `signal` aborts. */
export function whenVisible(signal: AbortSignal): Promise<void> {
  if (!isPageHidden() || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      unsubscribe();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const unsubscribe = onVisibilityChange((hidden) => {
      if (!hidden) done();
    });
    signal.addEventListener('abort', done, { once: true });
  });
}
