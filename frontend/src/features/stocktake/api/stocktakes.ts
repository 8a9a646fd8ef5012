// Stocktakes (docs/floor-api.md): the paged list, one stocktake with its
// lines, start, count a line (typed), add a scan, approve (admins), cancel.
// Counting answers with the line, which replaces it in the cached detail, so
// the screen follows without reloading every line; closing a stocktake
// invalidates balances and the journal too (approval posts movements).

import { keepPreviousData, queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { BALANCE_ROOTS, invalidateRoots, queryRoots } from '@/lib/query-keys';
import type {
  Page,
  PageQuery,
  Stocktake,
  StocktakeCount,
  StocktakeCreate,
  StocktakeDetail,
  StocktakeFilters,
  StocktakeLine,
  StocktakeScan,
  Uuid,
} from '@/types/api';

const path = (id: Uuid, rest = '') => `/stocktakes/${encodeURIComponent(id)}${rest}`;

export type StocktakeListParams = PageQuery & StocktakeFilters;

export function stocktakesQueryOptions(params: StocktakeListParams) {
  return queryOptions({
    queryKey: [...queryRoots.stocktakes, 'list', params],
    queryFn: ({ signal }) => api.request<Page<Stocktake>>('/stocktakes', { query: { ...params }, signal }),
    placeholderData: keepPreviousData,
  });
}

export function useStocktakes(params: StocktakeListParams) {
  return useQuery(stocktakesQueryOptions(params));
}

export function stocktakeQueryOptions(id: Uuid) {
  return queryOptions({
    queryKey: [...queryRoots.stocktakes, 'detail', id],
    queryFn: ({ signal }) => api.request<StocktakeDetail>(path(id), { signal }),
  });
}

export function useStocktake(id: Uuid) {
  return useQuery(stocktakeQueryOptions(id));
}

export function useCreateStocktake() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: StocktakeCreate) => api.request<Stocktake>('/stocktakes', { method: 'POST', json: body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryRoots.stocktakes }),
  });
}

/** Puts a counted line into the cached detail (and refreshes the object's counters). */
function useLineUpdate(id: Uuid) {
  const queryClient = useQueryClient();
  return (line: StocktakeLine) => {
    queryClient.setQueryData<StocktakeDetail>(stocktakeQueryOptions(id).queryKey, (detail) =>
      detail === undefined
        ? detail
        : { ...detail, lines: detail.lines.map((l) => (l.product_id === line.product_id ? line : l)) },
    );
    return queryClient.invalidateQueries({ queryKey: queryRoots.stocktakes });
  };
}

export function useCountLine(id: Uuid) {
  const update = useLineUpdate(id);
  return useMutation({
    mutationFn: ({ productId, count }: { productId: Uuid; count: StocktakeCount }) =>
      api.request<StocktakeLine>(path(id, `/lines/${encodeURIComponent(productId)}`), { method: 'PUT', json: count }),
    onSuccess: update,
  });
}

export function useScanLine(id: Uuid) {
  const update = useLineUpdate(id);
  return useMutation({
    mutationFn: (scan: StocktakeScan) => api.request<StocktakeLine>(path(id, '/scan'), { method: 'POST', json: scan }),
    onSuccess: update,
  });
}

function useClose(id: Uuid, action: 'approve' | 'cancel') {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { reason: string } | undefined) =>
      api.request<Stocktake>(path(id, `/${action}`), { method: 'POST', json: body }),
    onSettled: () => invalidateRoots(queryClient, [queryRoots.stocktakes, ...BALANCE_ROOTS]),
  });
}

export function useApproveStocktake(id: Uuid) {
  return useClose(id, 'approve');
}

export function useCancelStocktake(id: Uuid) {
  return useClose(id, 'cancel');
}
