// POST /api/stock/movements. The caller passes an idempotency key that stays
// the same for retries of one submission, so a retry never moves goods twice.
// Success invalidates balances, the summary and the journal.

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { BALANCE_ROOTS, invalidateRoots } from '@/lib/query-keys';
import type { Movement, MovementCreate } from '@/types/api';

export function createMovement(body: MovementCreate, idempotencyKey: string): Promise<Movement> {
  return api.request<Movement>('/stock/movements', {
    method: 'POST',
    json: body,
    headers: { 'Idempotency-Key': idempotencyKey },
  });
}

export function useCreateMovement() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ body, idempotencyKey }: { body: MovementCreate; idempotencyKey: string }) =>
      createMovement(body, idempotencyKey),
    onSuccess: () => invalidateRoots(queryClient, BALANCE_ROOTS),
  });
}
