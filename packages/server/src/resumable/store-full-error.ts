/** A store holds as many streams as it may; a new one can start once retained ones expire. */
export class StoreFullError extends Error {
  override name = 'StoreFullError';
  constructor(readonly maxStreams: number) {
    super(`${maxStreams} resumable streams are running or kept for resuming; try again later`);
  }
}
