// Barcode scanners (USB or Bluetooth, in keyboard mode) type the code and
// Enter within milliseconds. The detector tells such a burst from a person
// typing by timing alone; it is pure (the time comes with each key), so its
// rules are unit-tested without a browser.
//
// Rules:
// * A burst is printable keys each at most `maxGapMs` after the previous one;
//   a slower key starts a new burst (so a person's slow typing never adds up).
// * Enter at most `maxGapMs` after a burst of `minLength`..`maxLength` keys
//   is a scan; any other Enter is left alone.
// * Keys aimed at an editable field are that field's: the detector forgets
//   its burst and claims nothing (normal typing is never stolen; a scan into a
//   focused field types into it, as it always did).
// * Shift (for capitals) does not break a burst; any other non-printable key,
//   or a key with Ctrl/Alt/Meta, does.

export interface ScannerOptions {
  /** The longest pause between two keys of one scan. */
  maxGapMs: number;
  /** The shortest code accepted (shorter bursts are ignored). */
  minLength: number;
  /** The longest code accepted (the API's barcode limit). */
  maxLength: number;
}

/**
 * Scanners type a key every 1–20 ms; people need 100 ms or more between most
 * keys and do not type four keys and Enter each within 50 ms of the last. The
 * margin above the scanner's pace absorbs a busy browser stalling between two
 * key events of one scan.
 */
export const DEFAULT_SCANNER_OPTIONS: ScannerOptions = { maxGapMs: 50, minLength: 4, maxLength: 100 };

export interface KeyInput {
  key: string;
  /** Milliseconds on any monotonic clock (the event's timeStamp). */
  time: number;
  /** True if the key goes to an editable field (input, textarea, contenteditable). */
  editable: boolean;
  /** True if Ctrl, Alt or Meta is held. */
  modified: boolean;
}

export type Verdict =
  /** Not part of a scan; let it through. */
  | { kind: 'ignore' }
  /** Possibly part of a scan; let it through (it cannot be known yet). */
  | { kind: 'pending' }
  /** The Enter that ends a scan: the caller swallows it and uses `code`. */
  | { kind: 'scan'; code: string };

const IGNORE: Verdict = { kind: 'ignore' };
const PENDING: Verdict = { kind: 'pending' };

export class ScanDetector {
  private buffer = '';
  private lastTime = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: ScannerOptions = DEFAULT_SCANNER_OPTIONS) {}

  handleKey({ key, time, editable, modified }: KeyInput): Verdict {
    if (editable || modified) return this.forget();
    if (key === 'Shift') return this.buffer === '' ? IGNORE : PENDING;
    const fast = time - this.lastTime <= this.options.maxGapMs;
    if (key === 'Enter') {
      const code = this.buffer;
      this.forget();
      return fast && code.length >= this.options.minLength ? { kind: 'scan', code } : IGNORE;
    }
    if (key.length !== 1) return this.forget();
    this.buffer = fast ? this.buffer + key : key;
    this.lastTime = time;
    if (this.buffer.length > this.options.maxLength) return this.forget();
    return PENDING;
  }

  /** Drops a burst in progress. */
  reset(): void {
    this.forget();
  }

  private forget(): Verdict {
    this.buffer = '';
    this.lastTime = Number.NEGATIVE_INFINITY;
    return IGNORE;
  }
}

/** True for elements whose keys are text input (not buttons, checkboxes, links). */
export function isEditableTarget(target: EventTarget | null): boolean {
  if (typeof HTMLElement === 'undefined' || !(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file', 'image'].includes(target.type);
  }
  return false;
}
