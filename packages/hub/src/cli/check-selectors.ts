import { TopicSelector, TopicSelectorError } from '../topic-selector.js';
import { UsageError } from './options.js';

/**
 * Refuses, before a token is minted, a selector the hub would refuse in the token's claim:
 * the person hears which flag is wrong instead of a 401 about the token.
 *
 * @param flag the option the selectors came from, named in the message.
 * @param where what the selectors become, e.g. "mercure.publish claim".
 * @throws UsageError naming the selector and why it is not one.
 */
export function checkSelectors(selectors: readonly string[], flag: string, where: string): void {
  for (const selector of selectors) {
    try {
      TopicSelector.compile(selector);
    } catch (error) {
      if (!(error instanceof TopicSelectorError)) throw error;
      throw new UsageError(`${flag}: ${error.message} (it goes in the ${where})`);
    }
  }
}
