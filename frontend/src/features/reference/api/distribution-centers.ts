// Distribution centres, contract 6.5: the full list, create, partial update,
// delete (409 while referenced). The path says "centers".

import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { DistributionCenter, DistributionCenterInput, Uuid } from '@/types/api';

export function getDistributionCenters(signal?: AbortSignal): Promise<DistributionCenter[]> {
  return api.request<DistributionCenter[]>('/distribution-centers/', { signal });
}

export function distributionCentersQueryOptions() {
  return queryOptions({
    queryKey: queryRoots.distributionCenters,
    queryFn: ({ signal }) => getDistributionCenters(signal),
    staleTime: 60_000,
  });
}

export function useDistributionCenters() {
  return useQuery(distributionCentersQueryOptions());
}

export function saveDistributionCenter(id: Uuid | null, input: DistributionCenterInput): Promise<DistributionCenter> {
  return id === null
    ? api.request<DistributionCenter>('/distribution-centers/', { method: 'POST', json: input })
    : api.request<DistributionCenter>(`/distribution-centers/${encodeURIComponent(id)}`, { method: 'PUT', json: input });
}

export function deleteDistributionCenter(id: Uuid): Promise<void> {
  return api.request<void>(`/distribution-centers/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export function useSaveDistributionCenter() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, input }: { id: Uuid | null; input: DistributionCenterInput }) => saveDistributionCenter(id, input),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryRoots.distributionCenters }),
  });
}

export function useDeleteDistributionCenter() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteDistributionCenter,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryRoots.distributionCenters }),
  });
}
