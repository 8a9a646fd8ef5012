// GET /health at the root of the origin: the supervisor's aggregate health.
// 503 ("not healthy") carries the same JSON and is an answer, not an error.
// Polled every two seconds while the status page is open. Sent with the
// session's token when there is one: an administrator gets the full document
// (pids, exits, probe errors), everyone else the public view.

import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { StackHealth } from '@/types/api';

export const HEALTH_REFRESH_MS = 2_000;

export function getHealth(signal?: AbortSignal): Promise<StackHealth> {
  return api.request<StackHealth>('/health', { prefix: '', auth: 'optional', acceptStatuses: [503], signal });
}

export function healthQueryOptions() {
  return queryOptions({
    queryKey: queryRoots.health,
    queryFn: ({ signal }) => getHealth(signal),
    refetchInterval: HEALTH_REFRESH_MS,
    refetchIntervalInBackground: false,
    retry: false,
  });
}

export function useHealth() {
  return useQuery(healthQueryOptions());
}
