// The one place the session token lives (F-01). The token is kept in memory and
// persisted under a single storage key; everything else (the API client, route
// guards, the header) reads it from here. The store also knows when the token
// expires, from the JWT's `exp` claim, and signs out by itself at that moment
// (F-10), so no request is sent with a token the server would reject.

export type SignOutReason = 'logout' | 'expired' | 'unauthorized';

export interface AuthState {
  token: string | null;
  /** Expiry in epoch milliseconds, from `exp`; null when signed out or unknown. */
  expiresAt: number | null;
  /** Why the last session ended; cleared by the next sign-in. */
  signOutReason: SignOutReason | null;
}

export interface AuthStore {
  getState(): AuthState;
  /** The token to send, or null. An expired token is dropped here ("expired"). */
  getToken(): string | null;
  signIn(token: string): void;
  signOut(reason: SignOutReason): void;
  /** Re-reads the persisted token (another tab signed in or out). */
  reload(): void;
  subscribe(listener: () => void): () => void;
}

/** The subset of the Web Storage API the store uses. */
export type TokenStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export const TOKEN_STORAGE_KEY = 'wms.token';

/**
 * A token counts as expired this long before its `exp`, so a request does not
 * leave with a token that dies on its way to the server.
 */
export const EXPIRY_MARGIN_MS = 5_000;

// setTimeout fires at once for delays above 2^31 - 1 ms; longer waits are re-armed.
const MAX_TIMER_MS = 2_147_483_647;

/** The `exp` claim of a JWT in epoch milliseconds, or null if absent or unreadable. */
export function jwtExpiry(token: string): number | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== 'object' || claims === null || !('exp' in claims)) return null;
    const { exp } = claims;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

const SIGNED_OUT: AuthState = { token: null, expiresAt: null, signOutReason: null };

export function createAuthStore(storage: TokenStorage): AuthStore {
  let state: AuthState = SIGNED_OUT;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const listeners = new Set<() => void>();

  const isExpired = (expiresAt: number | null): boolean =>
    expiresAt !== null && Date.now() >= expiresAt - EXPIRY_MARGIN_MS;

  function set(next: AuthState): void {
    state = next;
    clearTimeout(timer);
    timer = undefined;
    if (next.expiresAt !== null) armTimer(next.expiresAt);
    listeners.forEach((listener) => listener());
  }

  function armTimer(expiresAt: number): void {
    const delay = expiresAt - EXPIRY_MARGIN_MS - Date.now();
    timer = setTimeout(
      () => {
        if (isExpired(state.expiresAt)) signOut('expired');
        else if (state.expiresAt !== null) armTimer(state.expiresAt);
      },
      Math.min(Math.max(delay, 0), MAX_TIMER_MS),
    );
  }

  function signOut(reason: SignOutReason): void {
    storage.removeItem(TOKEN_STORAGE_KEY);
    if (state.token === null && state.signOutReason !== null) return;
    set({ token: null, expiresAt: null, signOutReason: reason });
  }

  function load(): void {
    const token = storage.getItem(TOKEN_STORAGE_KEY);
    if (token === state.token) return;
    if (token === null) {
      if (state.token !== null) set({ ...SIGNED_OUT, signOutReason: 'logout' });
      return;
    }
    const expiresAt = jwtExpiry(token);
    if (isExpired(expiresAt)) {
      storage.removeItem(TOKEN_STORAGE_KEY);
      set({ ...SIGNED_OUT, signOutReason: 'expired' });
      return;
    }
    set({ token, expiresAt, signOutReason: null });
  }

  load();

  return {
    getState: () => state,
    getToken() {
      if (state.token !== null && isExpired(state.expiresAt)) signOut('expired');
      return state.token;
    },
    signIn(token) {
      const expiresAt = jwtExpiry(token);
      if (isExpired(expiresAt)) {
        signOut('expired');
        return;
      }
      storage.setItem(TOKEN_STORAGE_KEY, token);
      set({ token, expiresAt, signOutReason: null });
    },
    signOut,
    reload: load,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function memoryStorage(): TokenStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/** The application's store, persisted in localStorage and synchronised across tabs. */
export const authStore: AuthStore = createAuthStore(
  typeof localStorage === 'undefined' ? memoryStorage() : localStorage,
);

if (typeof window !== 'undefined') {
  window.addEventListener('storage', (event) => {
    if (event.key === TOKEN_STORAGE_KEY || event.key === null) authStore.reload();
  });
}
