/** `startStream` was given an id that a running or retained stream already has. */
export class StreamExistsError extends Error {
  override name = 'StreamExistsError';
  constructor(readonly streamId: string) {
    super(`A resumable stream with id ${JSON.stringify(streamId)} exists already`);
  }
}
