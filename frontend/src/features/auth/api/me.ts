// GET /api/auth/me: the signed-in user, fetched at start-up whenever a token
// exists (F-03). A 401 here ends the session through the API client.

import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { CurrentUser } from '@/types/api';
import { useSession } from '../use-session';

export function getMe(signal?: AbortSignal): Promise<CurrentUser> {
  return api.request<CurrentUser>('/auth/me', { signal });
}

export function meQueryOptions(token: string | null) {
  return queryOptions({
    queryKey: [...queryRoots.me, token],
    queryFn: ({ signal }) => getMe(signal),
    enabled: token !== null,
    staleTime: 5 * 60_000,
  });
}

export function useMe() {
  const { token } = useSession();
  return useQuery(meQueryOptions(token));
}

/**
 * True unless the server says the user is an operator. A server without roles
 * (the reference) lets every user do everything, and so does this UI.
 */
export function useIsAdmin(): boolean {
  const { data } = useMe();
  return data?.role !== 'operator';
}
