// GET /api/products/: one page of products with their balances, optionally
// filtered by a search text (page and page size travel with the search, F-04).

import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { Page, PageQuery, ProductWithStock } from '@/types/api';

export interface ProductListParams extends PageQuery {
  search?: string;
}

/**
 * The query parameter that carries the search text. `q` is our backend's
 * extension matching barcode, seller SKU or brand (contract 6.6).
 */
export const PRODUCT_SEARCH_PARAM = 'q';

export function getProducts(params: ProductListParams, signal?: AbortSignal): Promise<Page<ProductWithStock>> {
  return api.request<Page<ProductWithStock>>('/products/', {
    query: { page: params.page, page_size: params.page_size, [PRODUCT_SEARCH_PARAM]: params.search?.trim() },
    signal,
  });
}

export function productsQueryOptions(params: ProductListParams) {
  return queryOptions({
    queryKey: [...queryRoots.products, 'list', params],
    queryFn: ({ signal }) => getProducts(params, signal),
    placeholderData: keepPreviousData,
  });
}

export function useProducts(params: ProductListParams) {
  return useQuery(productsQueryOptions(params));
}
