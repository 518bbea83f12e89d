/**
 * Preloaded into the hub under test (`node --expose-gc --import <this> cli.js serve ...`):
 * SIGUSR2 runs full garbage collections, so its memory is read after garbage is gone, as the
 * Node servers of bench:server are. Nothing else of the hub changes.
 */
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  setTimeout(() => gc?.(), 50);
});
