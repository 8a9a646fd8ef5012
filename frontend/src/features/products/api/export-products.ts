// CSV export of products with balances (issue 5), downloaded with the token.

import { api, type Download } from '@/lib/api';
import { PRODUCT_SEARCH_PARAM } from './get-products';

export const PRODUCTS_EXPORT_PATH = '/export/products.csv';

export function exportProducts(search?: string): Promise<Download> {
  return api.download(PRODUCTS_EXPORT_PATH, { query: { [PRODUCT_SEARCH_PARAM]: search?.trim() } });
}
