// A camera sees the same code in every frame while it is held in view. The
// guard lets a code through once, then again only after it has been out of
// sight for `quietMs` (taken away and shown again), so one presentation is one
// scan. Pure: the time comes with each sighting.

export class RepeatGuard {
  private last: string | null = null;
  private lastSeen = Number.NEGATIVE_INFINITY;

  constructor(private readonly quietMs = 1_200) {}

  /** True if this sighting counts as a new scan. */
  accept(code: string, now: number): boolean {
    const fresh = code !== this.last || now - this.lastSeen > this.quietMs;
    this.last = code;
    this.lastSeen = now;
    return fresh;
  }
}
