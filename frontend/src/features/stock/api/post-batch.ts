// POST /api/stock/movements/batch (docs/floor-api.md): a scan session's lines
// in one all-or-nothing request. The Idempotency-Key belongs to the body (see
// scan-session.ts), so a retry posts once. A 409 carries the refused lines
// (read with refusalsOf of lib/api.ts).

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { BALANCE_ROOTS, invalidateRoots } from '@/lib/query-keys';
import type { BatchRequest, BatchResponse } from '@/types/api';

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
    onSuccess: () => invalidateRoots(queryClient, BALANCE_ROOTS),
  });
}
