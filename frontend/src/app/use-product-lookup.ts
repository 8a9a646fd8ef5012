// The product a scanned code names, through the query cache (repeated scans of
// one code cost one request while the answer is fresh).

import { useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { productByBarcodeQueryOptions } from '@/features/products/api/get-product';
import type { ProductWithStock } from '@/types/api';

export function useProductLookup(): (code: string) => Promise<ProductWithStock | null> {
  const queryClient = useQueryClient();
  return useCallback((code: string) => queryClient.fetchQuery(productByBarcodeQueryOptions(code)), [queryClient]);
}
