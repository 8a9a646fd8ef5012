// React view of the auth store: re-renders when the session starts or ends.

import { useSyncExternalStore } from 'react';
import { authStore, type AuthState } from '@/lib/auth-store';

export function useSession(): AuthState {
  return useSyncExternalStore(authStore.subscribe, authStore.getState);
}
