// Sources (suppliers and pickup points), contract 6.4: the full list (no
// pagination), create, partial update, delete (409 while referenced).

import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { Source, SourceInput, Uuid } from '@/types/api';

export function getSources(signal?: AbortSignal): Promise<Source[]> {
  return api.request<Source[]>('/sources/', { signal });
}

export function sourcesQueryOptions() {
  return queryOptions({ queryKey: queryRoots.sources, queryFn: ({ signal }) => getSources(signal), staleTime: 60_000 });
}

export function useSources() {
  return useQuery(sourcesQueryOptions());
}

export function saveSource(id: Uuid | null, input: SourceInput): Promise<Source> {
  return id === null
    ? api.request<Source>('/sources/', { method: 'POST', json: input })
    : api.request<Source>(`/sources/${encodeURIComponent(id)}`, { method: 'PUT', json: input });
}

export function deleteSource(id: Uuid): Promise<void> {
  return api.request<void>(`/sources/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export function useSaveSource() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, input }: { id: Uuid | null; input: SourceInput }) => saveSource(id, input),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryRoots.sources }),
  });
}

export function useDeleteSource() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteSource,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryRoots.sources }),
  });
}
