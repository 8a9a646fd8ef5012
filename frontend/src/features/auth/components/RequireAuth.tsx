// Route guard: without a live token, go to /login and remember where the user
// was heading, so signing in (again) returns there.

import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useSession } from '../use-session';

export interface LoginRedirectState {
  from: string;
}

export function RequireAuth({ children }: { children: ReactNode }) {
  const { token } = useSession();
  const location = useLocation();
  if (token === null) {
    const state: LoginRedirectState = { from: location.pathname + location.search };
    return <Navigate to="/login" replace state={state} />;
  }
  return children;
}

/** The route to return to after signing in. */
export function redirectTarget(state: unknown): string {
  if (typeof state === 'object' && state !== null && 'from' in state) {
    const { from } = state;
    if (typeof from === 'string' && from.startsWith('/') && !from.startsWith('/login')) return from;
  }
  return '/';
}
