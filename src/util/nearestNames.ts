/** "Did you mean" support for error messages: the known names closest to a misspelt one. */

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[t.length];
}

/** Up to `count` candidates nearest to `name`, nearest first (names containing it rank first). */
export function nearestNames(name: string, candidates: readonly string[], count = 3): string[] {
  const unique = [...new Set(candidates.filter((c) => c !== ''))];
  const key = (c: string): number => (c.toLowerCase().includes(name.toLowerCase()) || name.toLowerCase().includes(c.toLowerCase()) ? 0 : 1) * 1000 + editDistance(name, c);
  return unique.sort((a, b) => key(a) - key(b) || a.localeCompare(b)).slice(0, count);
}

/** "nearest: a, b, c" or "it has none" when there are no candidates. */
export function nearestHint(name: string, candidates: readonly string[], what: string): string {
  const near = nearestNames(name, candidates);
  return near.length === 0 ? `the model has no named ${what}` : `nearest ${what}: ${near.map((n) => `'${n}'`).join(', ')}`;
}
