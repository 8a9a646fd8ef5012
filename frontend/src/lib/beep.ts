// Audible cues for scanning: a short high tone for a good scan, a low long
// one for a code nobody knows. Browsers without Web Audio (or before the page
// had a user gesture) stay silent; the screen shows the same news.

let context: AudioContext | null = null;

export type Cue = 'ok' | 'error';

export function beep(cue: Cue): void {
  try {
    context ??= new AudioContext();
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = cue === 'ok' ? 'sine' : 'square';
    oscillator.frequency.value = cue === 'ok' ? 1320 : 196;
    gain.gain.value = 0.08;
    oscillator.connect(gain).connect(context.destination);
    oscillator.start();
    oscillator.stop(context.currentTime + (cue === 'ok' ? 0.07 : 0.4));
  } catch {
    // No audio here: the visual cue is enough.
  }
}
