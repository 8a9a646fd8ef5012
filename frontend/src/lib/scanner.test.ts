import { describe, expect, it } from 'vitest';
import { DEFAULT_SCANNER_OPTIONS, ScanDetector, type Verdict } from './scanner';

/** Feeds `keys` at the given gaps (ms before each key) and returns the last verdict. */
function feed(detector: ScanDetector, keys: string[], gaps: number | number[], start = 1000, editable = false): Verdict[] {
  let time = start;
  return keys.map((key, i) => {
    time += typeof gaps === 'number' ? gaps : (gaps[i] ?? 0);
    return detector.handleKey({ key, time, editable, modified: false });
  });
}

const chars = (code: string) => [...code];

describe('scanner detector', () => {
  it('recognises a fast burst ended by Enter', () => {
    const verdicts = feed(new ScanDetector(), [...chars('4600000000017'), 'Enter'], 8);
    expect(verdicts.slice(0, -1).every((v) => v.kind === 'pending')).toBe(true);
    expect(verdicts.at(-1)).toEqual({ kind: 'scan', code: '4600000000017' });
  });

  it('accepts gaps up to the limit and not beyond', () => {
    const { maxGapMs } = DEFAULT_SCANNER_OPTIONS;
    expect(feed(new ScanDetector(), [...chars('12345678'), 'Enter'], maxGapMs).at(-1)?.kind).toBe('scan');
    expect(feed(new ScanDetector(), [...chars('12345678'), 'Enter'], maxGapMs + 1).at(-1)?.kind).toBe('ignore');
  });

  it('does not take human typing for a scan', () => {
    // 120 ms between keys: a person in a hurry.
    expect(feed(new ScanDetector(), [...chars('46000017'), 'Enter'], 120).at(-1)).toEqual({ kind: 'ignore' });
  });

  it('a slow key starts a new burst: only the fast tail counts', () => {
    // "99" typed slowly, then a scanner burst: the code is the burst alone.
    const gaps = [0, 300, 400, 5, 5, 5, 5, 5, 5, 5, 5, 5];
    const verdicts = feed(new ScanDetector(), ['9', '9', ...chars('12345678'), 'Enter'], gaps);
    expect(verdicts.at(-1)).toEqual({ kind: 'scan', code: '12345678' });
  });

  it('a fast Enter after a slow last key is not a scan', () => {
    const gaps = [5, 5, 5, 5, 5, 200, 5];
    // (the slow key starts a new burst of one, too short to be a scan)
    expect(feed(new ScanDetector(), [...chars('123456'), 'Enter'], gaps).at(-1)?.kind).toBe('ignore');
  });

  it('ignores bursts shorter than the minimum', () => {
    expect(feed(new ScanDetector(), ['1', '2', '3', 'Enter'], 5).at(-1)?.kind).toBe('ignore');
    expect(feed(new ScanDetector(), ['1', '2', '3', '4', 'Enter'], 5).at(-1)?.kind).toBe('scan');
  });

  it('ignores a burst longer than the maximum', () => {
    const long = '7'.repeat(DEFAULT_SCANNER_OPTIONS.maxLength + 1);
    expect(feed(new ScanDetector(), [...chars(long), 'Enter'], 2).at(-1)?.kind).toBe('ignore');
  });

  it('keeps Shift inside a burst (capital letters of Code 128)', () => {
    const keys = ['Shift', 'A', 'B', 'Shift', 'C', '-', '1', '2', 'Enter'];
    expect(feed(new ScanDetector(), keys, 3).at(-1)).toEqual({ kind: 'scan', code: 'ABC-12' });
  });

  it('never claims keys aimed at an editable field, and forgets the burst', () => {
    const detector = new ScanDetector();
    const typed = feed(detector, [...chars('4600000000017'), 'Enter'], 5, 1000, true);
    expect(typed.every((v) => v.kind === 'ignore')).toBe(true);
    // A burst that moved into a field halfway is not completed outside it.
    feed(detector, chars('1234'), 5, 2000);
    detector.handleKey({ key: '5', time: 2025, editable: true, modified: false });
    expect(detector.handleKey({ key: 'Enter', time: 2030, editable: false, modified: false }).kind).toBe('ignore');
  });

  it('a modifier or a navigation key breaks a burst', () => {
    const detector = new ScanDetector();
    feed(detector, chars('12345'), 5, 1000);
    detector.handleKey({ key: 'c', time: 1030, editable: false, modified: true });
    expect(detector.handleKey({ key: 'Enter', time: 1035, editable: false, modified: false }).kind).toBe('ignore');
    feed(detector, [...chars('12345'), 'ArrowDown'], 5, 2000);
    expect(detector.handleKey({ key: 'Enter', time: 2035, editable: false, modified: false }).kind).toBe('ignore');
  });

  it('recognises consecutive scans independently', () => {
    const detector = new ScanDetector();
    expect(feed(detector, [...chars('11112222'), 'Enter'], 4, 1000).at(-1)).toEqual({ kind: 'scan', code: '11112222' });
    // The next scan starts 3 ms after the Enter: still a new code, not a continuation.
    expect(feed(detector, [...chars('33334444'), 'Enter'], 3, 1040).at(-1)).toEqual({ kind: 'scan', code: '33334444' });
  });

  it('a lone Enter does nothing', () => {
    expect(new ScanDetector().handleKey({ key: 'Enter', time: 5, editable: false, modified: false }).kind).toBe('ignore');
  });
});
