// Camera scanning (phones, tablets, laptops): the video of the rear camera is
// decoded a few times a second, with the browser's BarcodeDetector where it
// exists and knows our formats, else with ZXing (@zxing/library, pure
// JavaScript, so it needs no WebAssembly under our CSP). This module is
// loaded only when the camera is opened; the decoder only if it is needed.
// Formats: EAN-13, EAN-8, Code 128, QR.

import type { DecodeHintType } from '@zxing/library';
import { RepeatGuard } from './repeat-guard';

export interface CameraSession {
  /** Which decoder runs: the browser's own or ZXing. */
  decoder: 'native' | 'zxing';
  stop(): void;
}

type Decode = (video: HTMLVideoElement) => Promise<string | null>;

const FORMATS = ['ean_13', 'ean_8', 'code_128', 'qr_code'];
const FRAME_INTERVAL_MS = 150;

interface NativeDetector {
  detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]>;
}
interface NativeDetectorClass {
  new (options: { formats: string[] }): NativeDetector;
  getSupportedFormats(): Promise<string[]>;
}

async function nativeDecoder(): Promise<Decode | null> {
  const Detector = (globalThis as { BarcodeDetector?: NativeDetectorClass }).BarcodeDetector;
  if (Detector === undefined) return null;
  try {
    const supported = await Detector.getSupportedFormats();
    const formats = FORMATS.filter((f) => supported.includes(f));
    if (formats.length < FORMATS.length) return null;
    const detector = new Detector({ formats });
    return async (video) => (await detector.detect(video))[0]?.rawValue ?? null;
  } catch {
    return null;
  }
}

async function zxingDecoder(): Promise<Decode> {
  const zxing = await import('@zxing/library');
  const hints = new Map<DecodeHintType, unknown>([
    [
      zxing.DecodeHintType.POSSIBLE_FORMATS,
      [zxing.BarcodeFormat.EAN_13, zxing.BarcodeFormat.EAN_8, zxing.BarcodeFormat.CODE_128, zxing.BarcodeFormat.QR_CODE],
    ],
    [zxing.DecodeHintType.TRY_HARDER, true],
  ]);
  const reader = new zxing.MultiFormatReader();
  reader.setHints(hints);
  const canvas = document.createElement('canvas');
  return async (video) => {
    if (video.videoWidth === 0) return null;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (context === null) return null;
    context.drawImage(video, 0, 0);
    const bitmap = new zxing.BinaryBitmap(new zxing.HybridBinarizer(new zxing.HTMLCanvasElementLuminanceSource(canvas)));
    try {
      return reader.decodeWithState(bitmap).getText();
    } catch {
      return null; // nothing readable in this frame
    } finally {
      reader.reset();
    }
  };
}

/** Opens the camera into `video` and calls `onCode` once per presentation of a code. */
export async function startCamera(video: HTMLVideoElement, onCode: (code: string) => void): Promise<CameraSession> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };
  try {
    video.srcObject = stream;
    video.muted = true;
    video.playsInline = true;
    await video.play();
    const native = await nativeDecoder();
    const decode = native ?? (await zxingDecoder());
    const guard = new RepeatGuard();
    const tick = async () => {
      if (stopped) return;
      const code = await decode(video).catch(() => null);
      if (stopped) return;
      if (code !== null && code !== '' && guard.accept(code, performance.now())) onCode(code);
      timer = setTimeout(() => void tick(), FRAME_INTERVAL_MS);
    };
    void tick();
    return { decoder: native === null ? 'zxing' : 'native', stop };
  } catch (error) {
    stop();
    throw error;
  }
}
