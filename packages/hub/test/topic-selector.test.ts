import { compileUriTemplate, SelectorSet, TopicSelector, TopicSelectorError } from '@tidings/hub';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  expand,
  type Part,
  referenceMatcher,
  render,
  templateArb,
  topicCharArb,
  type Values,
  valuesArb,
} from './topic-selector.support.js';

const matches = (selector: string, topic: string) => TopicSelector.compile(selector).matches(topic);

describe('TopicSelector: the reserved `*`', () => {
  it('matches every topic and is not indexed as an exact topic', () => {
    const all = TopicSelector.compile('*');
    expect(all.matchesAll).toBe(true);
    expect(all.exactTopic).toBeUndefined();
    for (const topic of ['', '*', 'https://example.com/books/1', 'urn:x', '{id}', 'é ']) {
      expect(all.matches(topic)).toBe(true);
    }
  });

  it('is reserved only as the whole selector', () => {
    const star = TopicSelector.compile('https://example.com/*');
    expect(star.matchesAll).toBe(false);
    expect(star.exactTopic).toBe('https://example.com/*');
    expect(star.matches('https://example.com/books')).toBe(false);
    expect(star.matches('https://example.com/*')).toBe(true);
  });
});

describe('TopicSelector: exact selectors', () => {
  it('match only the identical string, case and bytes included', () => {
    const exact = TopicSelector.compile('https://example.com/books/1');
    expect(exact.exactTopic).toBe('https://example.com/books/1');
    expect(exact.matchesAll).toBe(false);
    expect(exact.isTemplate).toBe(false);
    expect(exact.matches('https://example.com/books/1')).toBe(true);
    expect(exact.matches('https://example.com/books/1/')).toBe(false);
    expect(exact.matches('https://EXAMPLE.com/books/1')).toBe(false);
    expect(exact.matches('https://example.com/books/%31')).toBe(false);
  });

  it('accept any string without "{" (spaces, quotes, "}" included), as Mercure does', () => {
    for (const selector of ['bar', 'a b', "it's", 'a}b', '', 'ünïcødé', 'x|y^z']) {
      const compiled = TopicSelector.compile(selector);
      expect(compiled.exactTopic).toBe(selector);
      expect(compiled.matches(selector)).toBe(true);
      expect(compiled.matches(`${selector}x`)).toBe(false);
    }
  });

  it('are compiled once and shared', () => {
    expect(TopicSelector.compile('https://example.com/{id}')).toBe(
      TopicSelector.compile('https://example.com/{id}'),
    );
  });

  it('property: a selector without "{" matches a topic exactly when they are equal', () => {
    const noBrace = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('{'));
    fc.assert(
      fc.property(noBrace, noBrace, (selector, topic) => {
        expect(matches(selector, topic)).toBe(selector === '*' || selector === topic);
      }),
    );
  });
});

describe('TopicSelector: URI templates', () => {
  it('match what Mercure documents for a resource collection', () => {
    const books = TopicSelector.compile('https://example.com/books/{id}');
    expect(books.isTemplate).toBe(true);
    expect(books.exactTopic).toBeUndefined();
    expect(books.matches('https://example.com/books/1')).toBe(true);
    expect(books.matches('https://example.com/books/the-hobbit_1937.~')).toBe(true);
    expect(books.matches('https://example.com/books/caf%C3%A9')).toBe(true);
    // "{id}" is a simple expansion: "/" would be percent-encoded, so it cannot match a path.
    expect(books.matches('https://example.com/books/1/reviews')).toBe(false);
    expect(books.matches('https://example.org/books/1')).toBe(false);
    expect(books.matches('http://example.com/books/1')).toBe(false);
    // Raw non-ASCII is never produced by an expansion: it would be percent-encoded.
    expect(books.matches('https://example.com/books/café')).toBe(false);
    expect(books.matches('https://example.com/books/%C3%A')).toBe(false);
    expect(books.matches('https://example.com/books/%zz')).toBe(false);
    // Draft-07 step 2: a template also matches itself, so templates can be compared.
    expect(books.matches('https://example.com/books/{id}')).toBe(true);
  });

  it('let reserved expansion cross path segments', () => {
    expect(matches('https://example.com{+path}', 'https://example.com/a/b/c?d=e#f')).toBe(true);
    expect(matches('https://example.com/{+path}/reviews', 'https://example.com/a/b/reviews')).toBe(
      true,
    );
    expect(matches('https://example.com/{+path}/reviews', 'https://example.com/a/b/review')).toBe(
      false,
    );
  });

  it('limit an unexploded variable list to one value per variable where the separator is not a value character', () => {
    expect(matches('https://example.com{/a,b}', 'https://example.com/x/y')).toBe(true);
    expect(matches('https://example.com{/a,b}', 'https://example.com/x')).toBe(true);
    expect(matches('https://example.com{/a,b}', 'https://example.com')).toBe(true);
    expect(matches('https://example.com{/a,b}', 'https://example.com/x/y/z')).toBe(false);
    expect(matches('https://example.com{/a*}', 'https://example.com/x/y/z')).toBe(true);
    expect(matches('https://example.com{?a,b}', 'https://example.com?a=1&b=2')).toBe(true);
    expect(matches('https://example.com{?a,b}', 'https://example.com?a=1&b=2&c=3')).toBe(false);
    expect(matches('https://example.com{?a*}', 'https://example.com?a=1&b=2&c=3')).toBe(true);
    expect(matches('https://example.com{?a}', 'https://example.com?a=1&b=2')).toBe(false);
  });

  it('do not check the names of named expansions, as Mercure does not', () => {
    expect(matches('/search{?q}', '/search?q=tidings')).toBe(true);
    expect(matches('/search{?q}', '/search?anything=tidings')).toBe(true);
    expect(matches('/m{;v}', '/m;w=1')).toBe(true);
  });

  it('accept prefix modifiers without enforcing the length, as Mercure does', () => {
    expect(matches('/dictionary/{term:1}/{term}', '/dictionary/c/cat')).toBe(true);
    expect(matches('/dictionary/{term:1}/{term}', '/dictionary/ca/cat')).toBe(true);
  });

  it('treat an expression as optional as a whole', () => {
    expect(matches('/books{/id}', '/books')).toBe(true);
    expect(matches('/books{/id}', '/books/')).toBe(true);
    expect(matches('/books{/id}', '/books/1')).toBe(true);
    expect(matches('/books{/id}', '/books1')).toBe(false);
    expect(matches('{id}', '')).toBe(true);
  });

  it('run as a native RegExp only when deterministic, else as a DFA', () => {
    for (const template of [
      'https://example.com/books/{id}',
      'https://example.com/users/{user}/books/{id}{?q*}',
      '/search{?q,lang}',
      '{/path*}',
      'urn:x:{+rest}',
    ]) {
      expect(compileUriTemplate(template).engine, template).toBe('regexp');
    }
    for (const template of [
      '{x,y}', // "," separates the variables and may appear in a value
      '{+path}/here', // "/" may end the value or start the literal
      '{a}{b}',
      '{id}%20', // "%" may start an escape in the value or the literal
      '/x{.a}.json', // "." is both a value character and the literal
    ]) {
      expect(compileUriTemplate(template).engine, template).toBe('dfa');
    }
  });

  it('keep matching right when a template needs more DFA states than are cached', () => {
    // After k commas, any of the first k+1 values may be the current one: one state per k.
    const names = Array.from({ length: 400 }, (_, i) => `v${i}`);
    const selector = TopicSelector.compile(`/list/{${names.join(',')}}`);
    expect(compileUriTemplate(selector.source).engine).toBe('dfa');
    for (let round = 0; round < 2; round++) {
      expect(selector.matches(`/list/${'a,'.repeat(600)}b`)).toBe(true);
      expect(selector.matches(`/list/${'a,'.repeat(600)}b/`)).toBe(false);
      expect(selector.matches(`/list/${',%41'.repeat(300)}`)).toBe(true);
      expect(selector.matches(`/list/${',%4'.repeat(300)}`)).toBe(false);
    }
  });

  it('match adjacent expressions in linear time, where a backtracking regex takes polynomial time', () => {
    // The equivalent regular expression explores O(n^8) ways to split this topic before it
    // gives up; the lock-step matcher looks at each character once per state.
    const selector = TopicSelector.compile('{+a}{+b}{+c}{+d}{+e}{+f}{+g}{+h}!');
    const nearMiss = `${'a'.repeat(100_000)}`;
    expect(selector.matches(nearMiss)).toBe(false);
    expect(selector.matches(`${nearMiss}!`)).toBe(true);
    expect(matches('x{a,b,c,d,e,f,g,h}y', `x${',a'.repeat(50_000)}`)).toBe(false);
    // And a deterministic template on the native engine.
    expect(
      matches(
        'https://example.com/books/{id}',
        `https://example.com/books/${'%41a'.repeat(50_000)}/`,
      ),
    ).toBe(false);
  });
});

// RFC 6570 §3.2, the variables and the expansion examples of each operator.
const RFC_VALUES: Values = {
  count: ['one', 'two', 'three'],
  dom: ['example', 'com'],
  dub: 'me/too',
  hello: 'Hello World!',
  half: '50%',
  var: 'value',
  who: 'fred',
  base: 'http://example.com/home/',
  path: '/foo/bar',
  list: ['red', 'green', 'blue'],
  keys: [
    ['semi', ';'],
    ['dot', '.'],
    ['comma', ','],
  ],
  v: '6',
  x: '1024',
  y: '768',
  empty: '',
  empty_keys: [],
  undef: undefined,
};

const RFC_EXAMPLES: [string, string][] = [
  // §3.2.2 simple string expansion
  ['{var}', 'value'],
  ['{hello}', 'Hello%20World%21'],
  ['{half}', '50%25'],
  ['O{empty}X', 'OX'],
  ['O{undef}X', 'OX'],
  ['{x,y}', '1024,768'],
  ['{x,hello,y}', '1024,Hello%20World%21,768'],
  ['?{x,empty}', '?1024,'],
  ['?{x,undef}', '?1024'],
  ['?{undef,y}', '?768'],
  ['{var:3}', 'val'],
  ['{var:30}', 'value'],
  ['{list}', 'red,green,blue'],
  ['{list*}', 'red,green,blue'],
  ['{keys}', 'semi,%3B,dot,.,comma,%2C'],
  ['{keys*}', 'semi=%3B,dot=.,comma=%2C'],
  // §3.2.3 reserved expansion
  ['{+var}', 'value'],
  ['{+hello}', 'Hello%20World!'],
  ['{+half}', '50%25'],
  ['{base}index', 'http%3A%2F%2Fexample.com%2Fhome%2Findex'],
  ['{+base}index', 'http://example.com/home/index'],
  ['O{+empty}X', 'OX'],
  ['{+path}/here', '/foo/bar/here'],
  ['here?ref={+path}', 'here?ref=/foo/bar'],
  ['up{+path}{var}/here', 'up/foo/barvalue/here'],
  ['{+x,hello,y}', '1024,Hello%20World!,768'],
  ['{+path,x}/here', '/foo/bar,1024/here'],
  ['{+path:6}/here', '/foo/b/here'],
  ['{+list}', 'red,green,blue'],
  ['{+keys}', 'semi,;,dot,.,comma,,'],
  ['{+keys*}', 'semi=;,dot=.,comma=,'],
  // §3.2.4 fragment expansion
  ['{#var}', '#value'],
  ['{#hello}', '#Hello%20World!'],
  ['{#half}', '#50%25'],
  ['foo{#empty}', 'foo#'],
  ['foo{#undef}', 'foo'],
  ['{#x,hello,y}', '#1024,Hello%20World!,768'],
  ['{#path,x}/here', '#/foo/bar,1024/here'],
  ['{#path:6}/here', '#/foo/b/here'],
  ['{#list*}', '#red,green,blue'],
  ['{#keys*}', '#semi=;,dot=.,comma=,'],
  // §3.2.5 label expansion with dot-prefix
  ['{.who}', '.fred'],
  ['{.who,who}', '.fred.fred'],
  ['{.half,who}', '.50%25.fred'],
  ['www{.dom*}', 'www.example.com'],
  ['X{.var}', 'X.value'],
  ['X{.empty}', 'X.'],
  ['X{.undef}', 'X'],
  ['X{.var:3}', 'X.val'],
  ['X{.list}', 'X.red,green,blue'],
  ['X{.list*}', 'X.red.green.blue'],
  ['X{.keys}', 'X.semi,%3B,dot,.,comma,%2C'],
  ['X{.keys*}', 'X.semi=%3B.dot=..comma=%2C'],
  ['X{.empty_keys}', 'X'],
  ['X{.empty_keys*}', 'X'],
  // §3.2.6 path segment expansion
  ['{/who}', '/fred'],
  ['{/who,who}', '/fred/fred'],
  ['{/half,who}', '/50%25/fred'],
  ['{/who,dub}', '/fred/me%2Ftoo'],
  ['{/var}', '/value'],
  ['{/var,empty}', '/value/'],
  ['{/var,undef}', '/value'],
  ['{/var,x}/here', '/value/1024/here'],
  ['{/var:1,var}', '/v/value'],
  ['{/list}', '/red,green,blue'],
  ['{/list*}', '/red/green/blue'],
  ['{/list*,path:4}', '/red/green/blue/%2Ffoo'],
  ['{/keys}', '/semi,%3B,dot,.,comma,%2C'],
  ['{/keys*}', '/semi=%3B/dot=./comma=%2C'],
  // §3.2.7 path-style parameter expansion
  ['{;who}', ';who=fred'],
  ['{;half}', ';half=50%25'],
  ['{;empty}', ';empty'],
  ['{;v,empty,who}', ';v=6;empty;who=fred'],
  ['{;v,bar,who}', ';v=6;who=fred'],
  ['{;x,y}', ';x=1024;y=768'],
  ['{;x,y,empty}', ';x=1024;y=768;empty'],
  ['{;x,y,undef}', ';x=1024;y=768'],
  ['{;hello:5}', ';hello=Hello'],
  ['{;list}', ';list=red,green,blue'],
  ['{;list*}', ';list=red;list=green;list=blue'],
  ['{;keys}', ';keys=semi,%3B,dot,.,comma,%2C'],
  ['{;keys*}', ';semi=%3B;dot=.;comma=%2C'],
  // §3.2.8 form-style query expansion
  ['{?who}', '?who=fred'],
  ['{?half}', '?half=50%25'],
  ['{?x,y}', '?x=1024&y=768'],
  ['{?x,y,empty}', '?x=1024&y=768&empty='],
  ['{?x,y,undef}', '?x=1024&y=768'],
  ['{?var:3}', '?var=val'],
  ['{?list}', '?list=red,green,blue'],
  ['{?list*}', '?list=red&list=green&list=blue'],
  ['{?keys}', '?keys=semi,%3B,dot,.,comma,%2C'],
  ['{?keys*}', '?semi=%3B&dot=.&comma=%2C'],
  // §3.2.9 form-style query continuation
  ['{&who}', '&who=fred'],
  ['{&half}', '&half=50%25'],
  ['?fixed=yes{&x}', '?fixed=yes&x=1024'],
  ['{&x,y,empty}', '&x=1024&y=768&empty='],
  ['{&var:3}', '&var=val'],
  ['{&list}', '&list=red,green,blue'],
  ['{&list*}', '&list=red&list=green&list=blue'],
  ['{&keys}', '&keys=semi,%3B,dot,.,comma,%2C'],
  ['{&keys*}', '&semi=%3B&dot=.&comma=%2C'],
];

describe('TopicSelector: every expansion example of RFC 6570 §3.2 matches its template', () => {
  it.each(RFC_EXAMPLES)('%s matches %s', (template, expansion) => {
    expect(expandTemplateString(template, RFC_VALUES)).toBe(expansion);
    expect(matches(`https://example.com/${template}`, `https://example.com/${expansion}`)).toBe(
      true,
    );
    expect(matches(template, expansion)).toBe(true);
  });
});

/** Parses the simple template strings of the RFC examples into the test model. */
function expandTemplateString(template: string, values: Values): string {
  const parts: Part[] = [];
  for (const piece of template.split(/(\{[^}]*\})/)) {
    if (piece === '') continue;
    if (!piece.startsWith('{')) {
      parts.push({ literal: piece });
      continue;
    }
    const body = piece.slice(1, -1);
    const operator = '+#./;?&'.includes(body[0]!) ? body[0]! : '';
    const variables = body
      .slice(operator.length)
      .split(',')
      .map((spec) => {
        const [name, prefix] = spec.replace('*', '').split(':');
        return {
          name: name!,
          explode: spec.endsWith('*'),
          prefix: prefix ? Number(prefix) : undefined,
        };
      });
    parts.push({ operator: operator as Part extends { operator: infer O } ? O : never, variables });
  }
  expect(render(parts)).toBe(template);
  return expand(parts, values);
}

describe('TopicSelector: properties', () => {
  it('every expansion of a template matches it', () => {
    fc.assert(
      fc.property(templateArb, valuesArb, (parts, values) => {
        const selector = TopicSelector.compile(render(parts));
        expect(selector.matches(expand(parts, values))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('the matcher agrees with the reference implementation, on both of its engines', () => {
    const engines = { regexp: 0, dfa: 0 };
    // Topics: expansions, near misses (an expansion with characters inserted, dropped or
    // replaced), and strings built from separators, escapes and non-ASCII characters.
    const topicArb = (parts: Part[]) =>
      fc.oneof(
        valuesArb.map((values) => expand(parts, values)),
        fc
          .tuple(valuesArb, fc.nat(), fc.nat({ max: 2 }), fc.array(topicCharArb, { maxLength: 2 }))
          .map(([values, at, drop, insert]) => {
            const text = expand(parts, values);
            const i = text.length === 0 ? 0 : at % text.length;
            return text.slice(0, i) + insert.join('') + text.slice(i + drop);
          }),
        fc.array(topicCharArb, { maxLength: 12 }).map((chars) => chars.join('')),
      );
    fc.assert(
      fc.property(
        templateArb.chain((parts) => fc.tuple(fc.constant(parts), topicArb(parts))),
        ([parts, topic]) => {
          const expected = topic === render(parts) || referenceMatcher(parts)(topic);
          expect(TopicSelector.compile(render(parts)).matches(topic)).toBe(expected);
          engines[compileUriTemplate(render(parts)).engine]++;
        },
      ),
      { numRuns: 4000 },
    );
    expect(engines.regexp).toBeGreaterThan(500);
    expect(engines.dfa).toBeGreaterThan(500);
  });

  it('a valid template always matches itself', () => {
    fc.assert(
      fc.property(templateArb, (parts) => {
        const source = render(parts);
        expect(TopicSelector.compile(source).matches(source)).toBe(true);
      }),
    );
  });

  it('any string either compiles or fails with a one-line TopicSelectorError', () => {
    const withBraces = fc
      .array(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 3 }),
          fc.constantFrom(
            '{',
            '}',
            '{a}',
            '{+',
            ',',
            '*',
            ':',
            ':0',
            ':12',
            '%',
            '%4',
            '\n',
            '.',
            '=',
          ),
        ),
        { maxLength: 8 },
      )
      .map((pieces) => pieces.join(''));
    fc.assert(
      fc.property(
        fc.oneof(withBraces, fc.string({ unit: 'binary', maxLength: 16 })),
        (selector) => {
          try {
            const compiled = TopicSelector.compile(selector);
            expect(compiled.matches(selector)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(TopicSelectorError);
            expect((error as TopicSelectorError).message).not.toMatch(/[\r\n\u2028\u2029]/);
            expect((error as TopicSelectorError).selector).toBe(selector);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('TopicSelector: malformed templates', () => {
  const cases: [string, string][] = [
    ['https://example.com/{id', '"{" at character 21 is never closed by "}"'],
    ['https://example.com/{}', 'empty expression "{}" at character 21'],
    ['https://example.com/{id}}', '"}" at character 25 closes no expression'],
    ['{a{b}', 'unexpected "{" (U+007B) at character 3 in expression; expected "," or "}"'],
    ['{=a}', 'operator "=" at character 2 is reserved by RFC 6570'],
    ['{|a}', 'operator "|" at character 2 is reserved by RFC 6570'],
    ['{a,}', 'expected a variable name after "," at character 3'],
    ['{,a}', 'operator "," at character 2 is reserved by RFC 6570'],
    ['{+,a}', 'expected a variable name at character 3, found "," (U+002C)'],
    ['{+}', 'expected a variable name at character 3, found the closing "}"'],
    ['{a b}', 'unexpected " " (U+0020) at character 3 in expression'],
    ['{a-b}', 'unexpected "-" (U+002D) at character 3 in expression'],
    ['{.a}', ''],
    ['{a.}', 'variable name "a." at character 2 ends with "."'],
    ['{a..b}', '"." at character 4: a variable name may not have two dots in a row'],
    ['{+.a}', 'expected a variable name at character 3, found "." (U+002E)'],
    ['{a:0}', 'prefix of "a" at character 3 must be a length from 1 to 9999'],
    ['{a:10000}', 'prefix of "a" at character 3 must be a length from 1 to 9999'],
    ['{a:}', 'prefix of "a" at character 3 must be a length from 1 to 9999'],
    ['{a*:3}', 'unexpected ":" (U+003A) at character 4'],
    ['{a%2}', '"%" at character 3 must start a percent-encoded byte such as %20'],
    [
      '/a b/{id}',
      '" " (U+0020) at character 3 is not allowed in a URI template; percent-encode it',
    ],
    ["/it's/{id}", `"'" (U+0027) at character 4 is not allowed in a URI template`],
    ['/a\u0000/{id}', 'U+0000 at character 3 is not allowed in a URI template'],
    ['/a\nb/{id}', 'U+000A at character 3 is not allowed in a URI template'],
    ['/\ud800/{id}', 'U+D800 at character 2 is not allowed in a URI template'],
    ['/%G0/{id}', '"%" at character 2 must start a percent-encoded byte such as %20'],
  ];

  it.each(cases)('%j is refused: %s', (selector, reason) => {
    if (reason === '') {
      // The counterpart that is valid: "." here is the label operator.
      expect(TopicSelector.compile(selector).matches('.x')).toBe(true);
      return;
    }
    let thrown: unknown;
    try {
      TopicSelector.compile(selector);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TopicSelectorError);
    const message = (thrown as Error).message;
    expect(message).toContain(reason);
    expect(message).toContain(`invalid topic selector ${JSON.stringify(selector)}`);
    expect(message).not.toMatch(/[\r\n]/);
  });

  it('accepts the rest of the RFC 6570 grammar', () => {
    for (const selector of [
      '{a.b}',
      '{%41b}',
      '{_x9}',
      '{a:9999}',
      '{a*,b:1,c}',
      '/é/中/😀/%C3%A9{/id}',
      '!#$&()*+,./:;=?@[]_~{id}',
    ]) {
      expect(() => TopicSelector.compile(selector)).not.toThrow();
    }
  });

  it('cuts long selectors short in the message', () => {
    const selector = `https://example.com/${'x'.repeat(500)}/{`;
    expect(() => TopicSelector.compile(selector)).toThrow(/\.\.\."/);
    try {
      TopicSelector.compile(selector);
    } catch (error) {
      expect((error as Error).message.length).toBeLessThan(260);
    }
  });
});

describe('SelectorSet', () => {
  it('matches when any topic matches any selector', () => {
    const set = new SelectorSet(['https://example.com/books/{id}', 'urn:news', 'urn:sport']);
    expect(set.selectors.map((s) => s.source)).toEqual([
      'https://example.com/books/{id}',
      'urn:news',
      'urn:sport',
    ]);
    expect(set.matchesAll).toBe(false);
    expect(set.matchesAny(['urn:weather', 'urn:sport'])).toBe(true);
    expect(set.matchesAny(['urn:weather', 'https://example.com/books/7'])).toBe(true);
    expect(set.matchesAny(['urn:weather'])).toBe(false);
    expect(set.matchesAny([])).toBe(false);
    expect(set.find('https://example.com/books/7')?.source).toBe('https://example.com/books/{id}');
    expect(set.find('urn:weather')).toBeUndefined();
  });

  it('with `*` matches any non-empty topic list', () => {
    const set = new SelectorSet(['urn:a', '*']);
    expect(set.matchesAll).toBe(true);
    expect(set.matchesAny(['anything'])).toBe(true);
    expect(set.matchesAny([])).toBe(false);
  });

  it('an empty set matches nothing', () => {
    expect(new SelectorSet([]).matchesAny(['urn:a'])).toBe(false);
  });

  it('refuses a malformed selector', () => {
    expect(() => new SelectorSet(['urn:a', '/{'])).toThrow(TopicSelectorError);
  });

  it('property: matchesAny agrees with matching each selector against each topic', () => {
    const selectorArb = fc.oneof(
      fc.constantFrom('*', 'urn:a', 'urn:b', '/books/{id}', '/books{/id*}', '{+any}', '/x{?q}'),
      templateArb.map(render),
    );
    const topicArb = fc.oneof(
      fc.constantFrom('urn:a', 'urn:b', '/books/1', '/books/1/2', '/x?q=1', ''),
      fc.array(topicCharArb, { maxLength: 8 }).map((chars) => chars.join('')),
    );
    fc.assert(
      fc.property(
        fc.array(selectorArb, { maxLength: 4 }),
        fc.array(topicArb, { maxLength: 3 }),
        (selectors, topics) => {
          const set = new SelectorSet(selectors);
          const expected = topics.some((topic) =>
            selectors.some((selector) => TopicSelector.compile(selector).matches(topic)),
          );
          expect(set.matchesAny(topics)).toBe(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
