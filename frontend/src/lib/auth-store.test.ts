import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jwtExpiringIn, makeJwt } from '@/test/jwt';
import { EXPIRY_MARGIN_MS, TOKEN_STORAGE_KEY, createAuthStore, jwtExpiry, type TokenStorage } from './auth-store';

function fakeStorage(initial: Record<string, string> = {}): TokenStorage & { items: Map<string, string> } {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-26T12:00:00Z'));
});

afterEach(() => {
  vi.useRealTimers();
});

describe('jwtExpiry', () => {
  it('reads exp (seconds) as epoch milliseconds', () => {
    expect(jwtExpiry(makeJwt({ sub: 'a@b.c', exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
  });

  it('decodes base64url payloads with non-ASCII claims', () => {
    expect(jwtExpiry(makeJwt({ sub: 'склад@пример.рф', exp: 2_000_000_000, pad: '?>?' }))).toBe(2_000_000_000_000);
  });

  it('returns null without exp, with a non-numeric exp, or for garbage', () => {
    expect(jwtExpiry(makeJwt({ sub: 'a@b.c' }))).toBeNull();
    expect(jwtExpiry(makeJwt({ sub: 'a@b.c', exp: '1800000000' }))).toBeNull();
    expect(jwtExpiry('not-a-jwt')).toBeNull();
    expect(jwtExpiry('a.%%%.c')).toBeNull();
  });
});

describe('auth store', () => {
  it('keeps the token under one storage key and in memory', () => {
    const storage = fakeStorage();
    const store = createAuthStore(storage);
    const token = jwtExpiringIn(1800);
    store.signIn(token);
    expect(store.getToken()).toBe(token);
    expect([...storage.items.keys()]).toEqual([TOKEN_STORAGE_KEY]);
    expect(store.getState()).toEqual({ token, expiresAt: Date.now() + 1_800_000, signOutReason: null });
  });

  it('restores a persisted live token at start-up', () => {
    const token = jwtExpiringIn(600);
    const store = createAuthStore(fakeStorage({ [TOKEN_STORAGE_KEY]: token }));
    expect(store.getToken()).toBe(token);
  });

  it('drops a persisted expired token at start-up and says why', () => {
    const storage = fakeStorage({ [TOKEN_STORAGE_KEY]: jwtExpiringIn(-10) });
    const store = createAuthStore(storage);
    expect(store.getToken()).toBeNull();
    expect(store.getState().signOutReason).toBe('expired');
    expect(storage.items.size).toBe(0);
  });

  it('sign-out clears memory and storage and notifies once', () => {
    const storage = fakeStorage();
    const store = createAuthStore(storage);
    store.signIn(jwtExpiringIn(1800));
    const listener = vi.fn();
    store.subscribe(listener);
    store.signOut('unauthorized');
    store.signOut('unauthorized');
    expect(store.getState()).toEqual({ token: null, expiresAt: null, signOutReason: 'unauthorized' });
    expect(storage.items.size).toBe(0);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('signs out by itself when the token expires (minus the margin)', () => {
    const store = createAuthStore(fakeStorage());
    store.signIn(jwtExpiringIn(60));
    const listener = vi.fn();
    store.subscribe(listener);
    vi.advanceTimersByTime(60_000 - EXPIRY_MARGIN_MS - 1);
    expect(store.getState().token).not.toBeNull();
    vi.advanceTimersByTime(1);
    expect(store.getState()).toMatchObject({ token: null, signOutReason: 'expired' });
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('never hands out an expired token, even if the timer has not fired (suspended tab)', () => {
    const store = createAuthStore(fakeStorage());
    store.signIn(jwtExpiringIn(60));
    vi.setSystemTime(Date.now() + 61_000);
    expect(store.getToken()).toBeNull();
    expect(store.getState().signOutReason).toBe('expired');
  });

  it('refuses an already expired token at sign-in', () => {
    const storage = fakeStorage();
    const store = createAuthStore(storage);
    store.signIn(jwtExpiringIn(-1));
    expect(store.getToken()).toBeNull();
    expect(storage.items.size).toBe(0);
  });

  it('keeps a token without exp (the server decides) and arms no timer', () => {
    const store = createAuthStore(fakeStorage());
    const token = makeJwt({ sub: 'a@b.c' });
    store.signIn(token);
    vi.advanceTimersByTime(10 * 365 * 86_400_000);
    expect(store.getToken()).toBe(token);
  });

  it('follows sign-in and sign-out made in another tab', () => {
    const storage = fakeStorage();
    const store = createAuthStore(storage);
    const token = jwtExpiringIn(1800);
    storage.setItem(TOKEN_STORAGE_KEY, token);
    store.reload();
    expect(store.getToken()).toBe(token);
    storage.removeItem(TOKEN_STORAGE_KEY);
    store.reload();
    expect(store.getState()).toMatchObject({ token: null, signOutReason: 'logout' });
  });

  it('a new sign-in replaces the old expiry timer', () => {
    const store = createAuthStore(fakeStorage());
    store.signIn(jwtExpiringIn(30));
    const second = jwtExpiringIn(3600);
    store.signIn(second);
    vi.advanceTimersByTime(60_000);
    expect(store.getToken()).toBe(second);
  });
});
