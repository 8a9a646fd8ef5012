// GET /api/stock/summary: the dashboard's three totals.

import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { StockSummary } from '@/types/api';

export function getSummary(signal?: AbortSignal): Promise<StockSummary> {
  return api.request<StockSummary>('/stock/summary', { signal });
}

export function summaryQueryOptions() {
  return queryOptions({ queryKey: queryRoots.summary, queryFn: ({ signal }) => getSummary(signal) });
}

export function useSummary() {
  return useQuery(summaryQueryOptions());
}
