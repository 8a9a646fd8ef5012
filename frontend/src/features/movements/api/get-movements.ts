// GET /api/stock/movements: one page of the journal with filters (8.1). Dates
// are sent as plain local dates; our server treats date_to as the whole day,
// so from = to selects a single day (F-06).

import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { Movement, MovementFilters, Page, PageQuery } from '@/types/api';

export type MovementListParams = PageQuery & MovementFilters;

export function movementQuery(params: MovementListParams) {
  return {
    page: params.page,
    page_size: params.page_size,
    operation_type: params.operation_type,
    product_id: params.product_id,
    barcode: params.barcode?.trim(),
    date_from: params.date_from,
    date_to: params.date_to,
  };
}

export function getMovements(params: MovementListParams, signal?: AbortSignal): Promise<Page<Movement>> {
  return api.request<Page<Movement>>('/stock/movements', { query: movementQuery(params), signal });
}

export function movementsQueryOptions(params: MovementListParams) {
  return queryOptions({
    queryKey: [...queryRoots.movements, params],
    queryFn: ({ signal }) => getMovements(params, signal),
    placeholderData: keepPreviousData,
  });
}

export function useMovements(params: MovementListParams) {
  return useQuery(movementsQueryOptions(params));
}
