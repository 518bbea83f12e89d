import { fileURLToPath } from 'node:url';
import { RpcChild } from '@tidings/hub/load';
import type { PublisherRequest, PublisherResult, PublishTarget } from './publish-target.js';

const PUBLISHER = fileURLToPath(new URL('./publisher.js', import.meta.url));

/** The publisher process, seen from the runner. */
export class Publisher {
  readonly #child: RpcChild<PublisherRequest>;

  constructor(target: PublishTarget) {
    this.#child = new RpcChild<PublisherRequest>(PUBLISHER, [JSON.stringify(target)]);
  }

  async publish(rate: number, durationMs: number): Promise<PublisherResult> {
    const result = await this.#child.request<PublisherResult>({ op: 'publish', rate, durationMs });
    if (result.failed > 0) {
      // A hub that refuses publishes is not keeping up, whatever it delivers.
      throw new PublishFailed(result);
    }
    return result;
  }

  async publishMarker(marker: string): Promise<void> {
    await this.#child.request({ op: 'publish-marker', marker });
  }

  stop(): Promise<void> {
    return this.#child.stop();
  }
}

export class PublishFailed extends Error {
  constructor(readonly result: PublisherResult) {
    super(
      `${result.failed} of ${result.published} publishes failed: ${JSON.stringify(result.failures)}`,
    );
  }
}
