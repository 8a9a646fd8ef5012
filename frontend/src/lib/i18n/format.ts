// Display formats that depend on the UI language.

import dayjs from 'dayjs';
import type { Lang, Translate } from './i18n';

export function dateTimeFormat(lang: Lang): string {
  return lang === 'ru' ? 'DD.MM.YYYY HH:mm' : 'YYYY-MM-DD HH:mm';
}

export function dateFormat(lang: Lang): string {
  return lang === 'ru' ? 'DD.MM.YYYY' : 'YYYY-MM-DD';
}

/** A server timestamp in the browser's local time. */
export function formatDateTime(iso: string, lang: Lang): string {
  return dayjs(iso).format(dateTimeFormat(lang));
}

/** "3d 4h", "2h 5m", "4m 10s", "12s" (units localised). */
export function formatDuration(totalSeconds: number, t: Translate): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3_600);
  const minutes = Math.floor((s % 3_600) / 60);
  const seconds = s % 60;
  const parts: [number, string][] = [
    [days, t('unit.d')],
    [hours, t('unit.h')],
    [minutes, t('unit.m')],
    [seconds, t('unit.s')],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return `0${t('unit.s')}`;
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}
