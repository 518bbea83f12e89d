/**
 * The candidate closest to a mistyped word, for "did you mean" hints (`tidings serv`,
 * `--prot`), or undefined when none is close enough to be a likely typo.
 *
 * Closeness is the Damerau–Levenshtein distance (a swap of two neighbours counts as one
 * edit), allowed up to a third of the word's length; a candidate the word is a prefix of
 * counts as close too, since a cut-off word is the commonest slip.
 */
export function nearestWord(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const allowed = Math.max(1, Math.floor(word.length / 3));
  for (const candidate of candidates) {
    const distance =
      word.length >= 2 && candidate.startsWith(word) ? 1 : editDistance(word, candidate);
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  // Three rows of the dynamic-programming table: the words are flag and command names.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, before[j - 2]! + 1);
      }
      current[j] = distance;
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}
