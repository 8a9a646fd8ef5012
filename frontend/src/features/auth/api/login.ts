// POST /api/auth/login. Sent without the token and exempt from the global 401
// handling, so "Invalid email or password" stays on the login screen (F-02).

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { authStore } from '@/lib/auth-store';
import type { LoginRequest, LoginResponse } from '@/types/api';
import { meQueryOptions } from './me';

export function login(credentials: LoginRequest): Promise<LoginResponse> {
  return api.request<LoginResponse>('/auth/login', {
    method: 'POST',
    json: credentials,
    auth: false,
  });
}

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: login,
    onSuccess: async ({ access_token }) => {
      authStore.signIn(access_token);
      // Load the user before leaving the login page, so the header is filled in.
      await queryClient.fetchQuery(meQueryOptions(access_token));
    },
  });
}

/** Ends the session; the app shell drops cached data when the token goes. */
export function logout(): void {
  authStore.signOut('logout');
}
