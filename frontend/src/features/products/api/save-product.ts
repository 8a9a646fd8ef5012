// POST /api/products/ and PUT /api/products/{id}; DELETE /api/products/{id}
// (soft delete) and POST /api/products/{id}/restore (admins, our extension).
// Each invalidates the product lists and the summary.

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { Product, ProductInput, Uuid } from '@/types/api';

export function createProduct(input: ProductInput): Promise<Product> {
  return api.request<Product>('/products/', { method: 'POST', json: input });
}

export function updateProduct(id: Uuid, input: ProductInput): Promise<Product> {
  return api.request<Product>(`/products/${encodeURIComponent(id)}`, { method: 'PUT', json: input });
}

export function deleteProduct(id: Uuid): Promise<void> {
  return api.request<void>(`/products/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export function restoreProduct(id: Uuid): Promise<Product> {
  return api.request<Product>(`/products/${encodeURIComponent(id)}/restore`, { method: 'POST' });
}

function useInvalidateProducts() {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: queryRoots.products }),
      queryClient.invalidateQueries({ queryKey: queryRoots.summary }),
    ]);
}

/** Creates when `id` is null, updates otherwise. */
export function useSaveProduct() {
  const invalidate = useInvalidateProducts();
  return useMutation({
    mutationFn: ({ id, input }: { id: Uuid | null; input: ProductInput }) =>
      id === null ? createProduct(input) : updateProduct(id, input),
    onSuccess: invalidate,
  });
}

export function useDeleteProduct() {
  const invalidate = useInvalidateProducts();
  return useMutation({ mutationFn: deleteProduct, onSuccess: invalidate });
}

export function useRestoreProduct() {
  const invalidate = useInvalidateProducts();
  return useMutation({ mutationFn: restoreProduct, onSuccess: invalidate });
}
