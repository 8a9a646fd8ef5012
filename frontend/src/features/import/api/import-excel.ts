// POST /api/import/excel: multipart upload of one workbook (part "file"). The
// answer is 200 with counters and row errors even when nothing was imported
// (9.4); success invalidates everything that balances feed.

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { BALANCE_ROOTS, invalidateRoots } from '@/lib/query-keys';
import type { ImportResponse } from '@/types/api';

export function importExcel(file: File): Promise<ImportResponse> {
  const form = new FormData();
  form.append('file', file, file.name);
  return api.request<ImportResponse>('/import/excel', { method: 'POST', form });
}

export function useImportExcel() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: importExcel,
    onSuccess: ({ result }) =>
      result.success ? invalidateRoots(queryClient, BALANCE_ROOTS) : undefined,
  });
}
