// The arithmetic of a stocktake review (docs/floor-api.md), pure and tested:
// a counted line's difference is counted − (expected + moved), where `moved`
// is what the journal changed between the start and the count, so goods that
// arrived or left while people were counting are not mistaken for a
// shortage or a surplus. Uncounted lines have no difference and are left
// alone by the approval. The server computes the same; the UI uses these
// while a typed count is not yet saved and for the review's totals.

import type { StocktakeLine } from '@/types/api';

export interface Difference {
  good: number;
  defect: number;
}

/** The balance the count is compared with: frozen at the start, plus what moved since. */
export function expectedNow(line: StocktakeLine): Difference {
  return {
    good: line.expected_quantity + line.moved_quantity,
    defect: line.expected_defect_quantity + line.moved_defect_quantity,
  };
}

export function isCounted(line: StocktakeLine): boolean {
  return line.counted_quantity !== null && line.counted_defect_quantity !== null;
}

/** counted − (expected + moved) for both balances; null while the line is uncounted. */
export function lineDifference(line: StocktakeLine): Difference | null {
  if (line.counted_quantity === null || line.counted_defect_quantity === null) return null;
  const base = expectedNow(line);
  return { good: line.counted_quantity - base.good, defect: line.counted_defect_quantity - base.defect };
}

export function hasDifference(line: StocktakeLine): boolean {
  const d = lineDifference(line);
  return d !== null && (d.good !== 0 || d.defect !== 0);
}

/** The line with a count applied locally (typed, not yet saved): its difference follows. */
export function withCount(line: StocktakeLine, counted: number, countedDefect: number): StocktakeLine {
  const next = { ...line, counted_quantity: counted, counted_defect_quantity: countedDefect };
  const d = lineDifference(next);
  return { ...next, difference: d?.good ?? null, defect_difference: d?.defect ?? null };
}

export type ReviewFilter = 'all' | 'uncounted' | 'differences';

export function filterLines(lines: readonly StocktakeLine[], filter: ReviewFilter): StocktakeLine[] {
  switch (filter) {
    case 'all':
      return [...lines];
    case 'uncounted':
      return lines.filter((line) => !isCounted(line));
    case 'differences':
      return lines.filter(hasDifference);
  }
}

export interface ReviewTotals {
  lines: number;
  counted: number;
  withDifference: number;
  /** What approval posts: the sums of the signed differences, and the units moved either way. */
  surplus: Difference;
  shortage: Difference;
}

export function reviewTotals(lines: readonly StocktakeLine[]): ReviewTotals {
  const totals: ReviewTotals = {
    lines: lines.length,
    counted: 0,
    withDifference: 0,
    surplus: { good: 0, defect: 0 },
    shortage: { good: 0, defect: 0 },
  };
  for (const line of lines) {
    const d = lineDifference(line);
    if (d === null) continue;
    totals.counted += 1;
    if (d.good !== 0 || d.defect !== 0) totals.withDifference += 1;
    for (const kind of ['good', 'defect'] as const) {
      if (d[kind] > 0) totals.surplus[kind] += d[kind];
      else totals.shortage[kind] -= d[kind];
    }
  }
  return totals;
}
