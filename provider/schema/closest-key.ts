/**
 * The known key that a key nobody declared most likely meant, or `undefined`
 * when none is close. In order of preference: the same key in another case or
 * with `_`/`-` (`Source`, `allow_from`); then the key the fewest edits away,
 * at most one for a key of up to 7 characters and two for a longer one, a
 * swap of neighbours counting as one edit (`sourc`, `actoin`, `destinaton`);
 * then a key it abbreviates or extends, the shorter having at least 3
 * characters (`proto`, `sourceAddress`), the nearest in length first. Ties go
 * to the key first in alphabetical order.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const wanted = simplified(key);
  let best: { key: string; rank: number } | undefined;
  for (const candidate of [...known].sort()) {
    const rank = wanted === "" ? undefined : rankOf(wanted, simplified(candidate));
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { key: candidate, rank };
  }
  return best?.key;
}

/** Worse than any edit distance within the limit: abbreviations and extensions rank after typos. */
const PREFIX_RANK = 3;

/** How close `name` is to `wanted` (0 = same spelling), or `undefined` when not close at all. */
function rankOf(wanted: string, name: string): number | undefined {
  const edits = editDistance(wanted, name, wanted.length <= 7 ? 1 : 2);
  if (edits !== undefined) return edits;
  const [shorter, longer] = wanted.length <= name.length ? [wanted, name] : [name, wanted];
  return shorter.length >= 3 && longer.startsWith(shorter) ? PREFIX_RANK + longer.length - shorter.length : undefined;
}

/** Lower case, without `_` and `-`: the spellings people mix up. */
function simplified(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, "");
}

/**
 * Optimal string alignment distance (insertions, deletions, substitutions
 * and swaps of neighbours), or `undefined` when it exceeds `limit`.
 */
function editDistance(a: string, b: string, limit: number): number | undefined {
  if (Math.abs(a.length - b.length) > limit) return undefined;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) current[j] = Math.min(current[j], before[j - 2] + 1);
    }
    [before, previous] = [previous, current];
  }
  return previous[b.length] <= limit ? previous[b.length] : undefined;
}
