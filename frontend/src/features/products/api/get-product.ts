// GET /api/products/{id}: one product (with balances on our backend, B-41).

import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { Product, Uuid } from '@/types/api';

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
