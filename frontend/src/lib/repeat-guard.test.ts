import { describe, expect, it } from 'vitest';
import { RepeatGuard } from './repeat-guard';

describe('camera repeat guard', () => {
  it('counts a code held in view once', () => {
    const guard = new RepeatGuard(1000);
    const seen = [0, 150, 300, 450, 2000].map((t) => guard.accept('4600000000017', t));
    // Frames every 150 ms keep it "in view"; after 1.5 s out of view it counts again.
    expect(seen).toEqual([true, false, false, false, true]);
  });

  it('a different code counts at once, and so does the first one again', () => {
    const guard = new RepeatGuard(1000);
    expect([guard.accept('A', 0), guard.accept('B', 100), guard.accept('A', 200)]).toEqual([true, true, true]);
  });
});
