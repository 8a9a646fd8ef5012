import { describe, expect, it } from 'vitest';
import type { StocktakeLine } from '@/types/api';
import { expectedNow, filterLines, hasDifference, lineDifference, reviewTotals, withCount } from './difference';

function line(partial: Partial<StocktakeLine> & { barcode: string }): StocktakeLine {
  return {
    product_id: `id-${partial.barcode}`,
    seller_sku: null,
    brand: null,
    size: null,
    expected_quantity: 0,
    expected_defect_quantity: 0,
    counted_quantity: null,
    counted_defect_quantity: null,
    counted_at: null,
    moved_quantity: 0,
    moved_defect_quantity: 0,
    difference: null,
    defect_difference: null,
    ...partial,
  };
}

describe('stocktake differences', () => {
  it('counted − expected when nothing moved', () => {
    const l = line({ barcode: 'A', expected_quantity: 10, expected_defect_quantity: 1, counted_quantity: 9, counted_defect_quantity: 1 });
    expect(lineDifference(l)).toEqual({ good: -1, defect: 0 });
  });

  it('movements during the count are not a difference', () => {
    // 10 frozen at the start, 2 shipped while counting, 8 on the shelf: all is well.
    const l = line({ barcode: 'A', expected_quantity: 10, moved_quantity: -2, counted_quantity: 8, counted_defect_quantity: 0 });
    expect(expectedNow(l)).toEqual({ good: 8, defect: 0 });
    expect(lineDifference(l)).toEqual({ good: 0, defect: 0 });
    expect(hasDifference(l)).toBe(false);
  });

  it('a receipt during the count and a real surplus', () => {
    // 5 frozen, 3 received while counting, 9 found: one more than there should be.
    const l = line({ barcode: 'A', expected_quantity: 5, moved_quantity: 3, counted_quantity: 9, counted_defect_quantity: 2, expected_defect_quantity: 1, moved_defect_quantity: 1 });
    expect(lineDifference(l)).toEqual({ good: 1, defect: 0 });
  });

  it('an uncounted line has no difference', () => {
    const l = line({ barcode: 'A', expected_quantity: 7 });
    expect(lineDifference(l)).toBeNull();
    expect(hasDifference(l)).toBe(false);
  });

  it('a typed count updates the difference fields', () => {
    const l = withCount(line({ barcode: 'A', expected_quantity: 4, expected_defect_quantity: 2, moved_quantity: 1 }), 3, 3);
    expect([l.difference, l.defect_difference]).toEqual([-2, 1]);
  });

  it('filters and totals for the review', () => {
    const lines = [
      line({ barcode: 'A', expected_quantity: 10, counted_quantity: 8, counted_defect_quantity: 0 }),
      line({ barcode: 'B', expected_quantity: 3, counted_quantity: 3, counted_defect_quantity: 0 }),
      line({ barcode: 'C', expected_quantity: 1, expected_defect_quantity: 0, counted_quantity: 2, counted_defect_quantity: 1 }),
      line({ barcode: 'D', expected_quantity: 6 }),
    ];
    expect(filterLines(lines, 'uncounted').map((l) => l.barcode)).toEqual(['D']);
    expect(filterLines(lines, 'differences').map((l) => l.barcode)).toEqual(['A', 'C']);
    expect(filterLines(lines, 'all')).toHaveLength(4);
    expect(reviewTotals(lines)).toEqual({
      lines: 4,
      counted: 3,
      withDifference: 2,
      surplus: { good: 1, defect: 1 },
      shortage: { good: 2, defect: 0 },
    });
  });
});
