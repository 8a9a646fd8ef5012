// CSV export of the journal with the same filters as the table (issue 5).

import { api, type Download } from '@/lib/api';
import type { MovementFilters } from '@/types/api';

export const MOVEMENTS_EXPORT_PATH = '/export/movements.csv';

export function exportMovements(filters: MovementFilters): Promise<Download> {
  return api.download(MOVEMENTS_EXPORT_PATH, {
    query: { ...filters, barcode: filters.barcode?.trim() },
  });
}
