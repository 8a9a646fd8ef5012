// GET /api/products/{id}: one product (with balances on our backend, B-41);
// GET /api/products/by-barcode/{code}: the product a scanned code names
// (barcode, or GTIN padded to 14 digits; docs/floor-api.md), null if none.

import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, ApiError } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { Product, ProductWithStock, Uuid } from '@/types/api';

export function getProduct(id: Uuid, signal?: AbortSignal): Promise<Product> {
  return api.request<Product>(`/products/${encodeURIComponent(id)}`, { signal });
}

export function productQueryOptions(id: Uuid) {
  return queryOptions({
    queryKey: [...queryRoots.products, 'detail', id],
    queryFn: ({ signal }) => getProduct(id, signal),
  });
}

export function useProduct(id: Uuid) {
  return useQuery(productQueryOptions(id));
}

export async function getProductByBarcode(code: string, signal?: AbortSignal): Promise<ProductWithStock | null> {
  try {
    return await api.request<ProductWithStock>(`/products/by-barcode/${encodeURIComponent(code)}`, { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Lookups stay fresh briefly, so repeated scans of one code cost one request. */
export function productByBarcodeQueryOptions(code: string) {
  return queryOptions({
    queryKey: [...queryRoots.products, 'barcode', code],
    queryFn: ({ signal }) => getProductByBarcode(code, signal),
    staleTime: 30_000,
  });
}
