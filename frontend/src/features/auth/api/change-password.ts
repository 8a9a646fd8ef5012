// POST /api/auth/change-password: a signed-in user changes their own password
// (issue 5); 204 on success.

import { useMutation } from '@tanstack/react-query';
import { api } from '@/lib/api';

export interface PasswordChange {
  current_password: string;
  new_password: string;
}

export function changePassword(change: PasswordChange): Promise<void> {
  return api.request<void>('/auth/change-password', { method: 'POST', json: change });
}

export function useChangePassword() {
  return useMutation({ mutationFn: changePassword });
}
