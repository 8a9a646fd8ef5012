// POST /api/stock/movements/batch (docs/floor-api.md): a scan session's lines
// in one all-or-nothing request. The Idempotency-Key belongs to the body (see
// scan-session.ts), so a retry posts once. A 409 carries the refused lines.

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { BatchRequest, BatchResponse, Refusals } from '@/types/api';

export function postBatch(body: BatchRequest, idempotencyKey: string): Promise<BatchResponse> {
  return api.request<BatchResponse>('/stock/movements/batch', {
    method: 'POST',
    json: body,
    headers: { 'Idempotency-Key': idempotencyKey },
  });
}

export function usePostBatch() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ body, idempotencyKey }: { body: BatchRequest; idempotencyKey: string }) => postBatch(body, idempotencyKey),
    onSuccess: () =>
      Promise.all(
        [queryRoots.products, queryRoots.summary, queryRoots.movements].map((queryKey) =>
          queryClient.invalidateQueries({ queryKey }),
        ),
      ),
  });
}

/** The refused lines of a 409 batch answer, or null for any other error. */
export function refusalsOf(error: unknown): Refusals | null {
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  const body = error.body;
  if (typeof body !== 'object' || body === null || !('lines' in body) || !Array.isArray(body.lines)) return null;
  return body as Refusals;
}
