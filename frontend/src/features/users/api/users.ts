// User management for admins (issue 5): list, create, and update (role,
// active flag, new password).

import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { queryRoots } from '@/lib/query-keys';
import type { User, UserCreate, UserUpdate, Uuid } from '@/types/api';

export const USERS_PATH = '/users/';

export function getUsers(signal?: AbortSignal): Promise<User[]> {
  return api.request<User[]>(USERS_PATH, { signal });
}

export function usersQueryOptions() {
  return queryOptions({ queryKey: queryRoots.users, queryFn: ({ signal }) => getUsers(signal) });
}

export function useUsers() {
  return useQuery(usersQueryOptions());
}

export function createUser(input: UserCreate): Promise<User> {
  return api.request<User>(USERS_PATH, { method: 'POST', json: input });
}

export function updateUser(id: Uuid, input: UserUpdate): Promise<User> {
  return api.request<User>(`${USERS_PATH}${encodeURIComponent(id)}`, { method: 'PUT', json: input });
}

function useInvalidateUsers() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: queryRoots.users });
}

export function useCreateUser() {
  return useMutation({ mutationFn: createUser, onSuccess: useInvalidateUsers() });
}

export function useUpdateUser() {
  return useMutation({
    mutationFn: ({ id, input }: { id: Uuid; input: UserUpdate }) => updateUser(id, input),
    onSuccess: useInvalidateUsers(),
  });
}
