// CSV export of products with balances (issue 5), downloaded with the token.

import { api, type Download } from '@/lib/api';

export const PRODUCTS_EXPORT_PATH = '/products/export';

export function exportProducts(search?: string): Promise<Download> {
  return api.download(PRODUCTS_EXPORT_PATH, { query: { q: search?.trim() } });
}
