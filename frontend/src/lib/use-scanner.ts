// Scans from anywhere on the page, delivered to one handler at a time: the
// one of highest priority, the most recently registered among equals (a scan
// session or a stocktake, priority 1, takes scans while it is open; otherwise
// the layout's "open the product" handler, priority 0, has them). Priorities,
// not mount order, because React runs a child's effects before its parent's.
// One capturing keydown listener on the window feeds the detector while any
// handler is registered; the Enter that ends a scan is swallowed, so it does
// not also press a focused button.

import { useEffect, useRef } from 'react';
import { ScanDetector, isEditableTarget } from './scanner';

type ScanHandler = (code: string) => void;

interface Registration {
  handler: { current: ScanHandler };
  priority: number;
}

const registrations: Registration[] = [];
const detector = new ScanDetector();

function onKeyDown(event: KeyboardEvent): void {
  const verdict = detector.handleKey({
    key: event.key,
    time: event.timeStamp,
    editable: isEditableTarget(event.target),
    modified: event.ctrlKey || event.altKey || event.metaKey,
  });
  if (verdict.kind !== 'scan') return;
  event.preventDefault();
  event.stopPropagation();
  let chosen: Registration | undefined;
  for (const registration of registrations) {
    if (chosen === undefined || registration.priority >= chosen.priority) chosen = registration;
  }
  chosen?.handler.current(verdict.code);
}

function register(registration: Registration): () => void {
  registrations.push(registration);
  if (registrations.length === 1) window.addEventListener('keydown', onKeyDown, true);
  return () => {
    const index = registrations.lastIndexOf(registration);
    if (index !== -1) registrations.splice(index, 1);
    if (registrations.length === 0) {
      window.removeEventListener('keydown', onKeyDown, true);
      detector.reset();
    }
  };
}

/** Priority of a screen that works with scans (scan session, stocktake). */
export const SCREEN_PRIORITY = 1;
/** Priority of the app-wide fallback (open the scanned product). */
export const GLOBAL_PRIORITY = 0;

/** Receives scans while mounted and `enabled`, unless a handler of higher priority is registered. */
export function useScanHandler(handler: ScanHandler, priority = SCREEN_PRIORITY, enabled = true): void {
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  useEffect(() => (enabled ? register({ handler: ref, priority }) : undefined), [enabled, priority]);
}
