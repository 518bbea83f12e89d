import { describe, expect, it, vi } from 'vitest';
import { SubscribeGrant } from '../../src/auth/index.js';
import { SharedCompilations } from '../../src/shared-compilations.js';
import { Subscriber } from '../../src/subscriber.js';
import { SubscriberIndex } from '../../src/subscriber-index.js';
import { SelectorSet, TopicSelector } from '../../src/topic-selector.js';
import { TemplateResultCache, UpdateMatcher } from '../../src/update-matcher.js';

const compilations = new SharedCompilations();
const subscriber = (selectors: string[], subscribe?: string[]) =>
  new Subscriber({
    selectors: compilations.selectorSet(selectors),
    grant:
      subscribe === undefined
        ? new SubscribeGrant(undefined)
        : compilations.grant({ subscribe } as never),
    payload: undefined,
    address: '127.0.0.1',
  });

describe('SubscriberIndex with UpdateMatcher', () => {
  it('matches each distinct template once per update, however many subscribers share it', () => {
    const index = new SubscriberIndex();
    const members = Array.from({ length: 10_000 }, (_, i) =>
      subscriber([`https://example.com/t${i % 100}/{id}`]),
    );
    for (const member of members) index.add(member);
    expect(index.patternGroups).toBe(100);
    const matches = vi.spyOn(TopicSelector.prototype, 'matches');
    const matcher = new UpdateMatcher();
    const update = { topics: ['https://example.com/t7/1'], private: false };
    matcher.begin(update.topics);
    const reached: Subscriber[] = [];
    index.forEachRecipient(update, matcher, (s) => reached.push(s));
    expect(reached).toHaveLength(100);
    expect(matches).toHaveBeenCalledTimes(100);
    // The same topic again: every (template, topic) answer comes from the cache.
    matches.mockClear();
    matcher.begin(update.topics);
    index.forEachRecipient(update, matcher, () => {});
    expect(matches).toHaveBeenCalledTimes(0);
    matches.mockRestore();
  });

  it('delivers once to a subscriber matched by several topics and selectors', () => {
    const index = new SubscriberIndex();
    const both = subscriber(['a', 'b', '{+x}']);
    index.add(both);
    const matcher = new UpdateMatcher();
    const update = { topics: ['a', 'b'], private: false };
    matcher.begin(update.topics);
    const reached: Subscriber[] = [];
    index.forEachRecipient(update, matcher, (s) => reached.push(s));
    expect(reached).toEqual([both]);
  });

  it('gives a private update only to subscribers whose claim matches one of its topics', () => {
    const index = new SubscriberIndex();
    const anonymous = subscriber(['/books/{id}']);
    const claimed = subscriber(['/books/{id}'], ['/books/1']);
    const otherClaim = subscriber(['/books/1'], ['/authors/{id}']);
    for (const s of [anonymous, claimed, otherClaim]) index.add(s);
    const matcher = new UpdateMatcher();
    const update = { topics: ['/books/1'], private: true };
    matcher.begin(update.topics);
    const reached: Subscriber[] = [];
    index.forEachRecipient(update, matcher, (s) => reached.push(s));
    expect(reached).toEqual([claimed]);
    index.delete(claimed);
    matcher.begin(update.topics);
    const after: Subscriber[] = [];
    index.forEachRecipient(update, matcher, (s) => after.push(s));
    expect(after).toEqual([]);
    expect(index.size).toBe(2);
  });

  it('answers a set with only exact selectors by lookup', () => {
    const matcher = new UpdateMatcher();
    matcher.begin(['x', 'y']);
    expect(matcher.matches(new SelectorSet(['y']))).toBe(true);
    expect(matcher.matches(new SelectorSet(['z']))).toBe(false);
    expect(matcher.matches(new SelectorSet(['*']))).toBe(true);
  });
});

describe('TemplateResultCache', () => {
  it('stays within its bounds, dropping the oldest topic first', () => {
    const cache = new TemplateResultCache();
    const template = TopicSelector.compile('/t/{id}');
    for (let i = 0; i < 5000; i++) cache.set(template, `/t/${i}`, true);
    expect(cache.size).toBeLessThanOrEqual(1024);
    expect(cache.get(template, '/t/0')).toBeUndefined();
    expect(cache.get(template, '/t/4999')).toBe(true);
    const templates = Array.from({ length: 200 }, (_, i) => TopicSelector.compile(`/u${i}/{id}`));
    for (let t = 0; t < 1000; t++) for (const each of templates) cache.set(each, `/v/${t}`, false);
    expect(cache.size).toBeLessThanOrEqual(65_536);
    expect(cache.get(templates[0]!, '/v/999')).toBe(false);
  });
});
