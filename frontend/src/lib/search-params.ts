// List pages keep their search, filters and page in the URL, so a reload, a
// shared link or the back button shows the same page.

import { useSearchParams } from 'react-router';

export type ParamValue = string | number | null | undefined;

export const PAGE_SIZES = [10, 20, 50, 100];
export const DEFAULT_PAGE_SIZE = 20;

function positiveInt(raw: string | null, fallback: number, max: number): number {
  const n = raw === null ? Number.NaN : Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : fallback;
}

export function useUrlState() {
  const [params, setParams] = useSearchParams();
  const get = (name: string): string | undefined => params.get(name) ?? undefined;
  const page = positiveInt(params.get('page'), 1, Number.MAX_SAFE_INTEGER);
  const pageSize = positiveInt(params.get('size'), DEFAULT_PAGE_SIZE, 100);

  /** Applies changes; empty values remove their parameter. */
  function update(changes: Record<string, ParamValue>) {
    setParams((current) => {
      const next = new URLSearchParams(current);
      for (const [name, value] of Object.entries(changes)) {
        if (value === undefined || value === null || value === '') next.delete(name);
        else next.set(name, String(value));
      }
      if (next.get('page') === '1') next.delete('page');
      if (next.get('size') === String(DEFAULT_PAGE_SIZE)) next.delete('size');
      return next;
    });
  }

  return { get, page, pageSize, update };
}
