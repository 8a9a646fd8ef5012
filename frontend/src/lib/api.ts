// The HTTP client: the only module that calls `fetch`. It adds the bearer token
// from the auth store, encodes query strings and JSON bodies, and turns every
// failure into an ApiError carrying the server's own `detail` (section 3 of the
// contract). A 401 on an authenticated request ends the session (once, and
// only if it is still the session that sent the request); the login request is
// exempt so its error stays on screen (F-02).

import type { Refusals } from '@/types/api';
import { authStore } from './auth-store';

/** One item of a 422 body (contract 3.3). */
export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
}

export type ApiErrorKind =
  /** No response at all (offline, connection refused, aborted). */
  | 'network'
  /** 401: not signed in, or the session ended. */
  | 'unauthorized'
  /** 422 with a list of issues. */
  | 'validation'
  /** Any other 4xx; `detail` holds the server's message. */
  | 'client'
  /** 5xx. */
  | 'server';

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly kind: ApiErrorKind,
    /** HTTP status, 0 when there was no response. */
    readonly status: number,
    /** The server's `detail` string, when it sent one. */
    readonly detail: string | null,
    readonly issues: readonly ValidationIssue[] = [],
    /** The whole error body, for answers that carry more than `detail` (batch refusals). */
    readonly body: unknown = null,
  ) {
    super(detail ?? (issues.length > 0 ? issues.map(issueText).join('; ') : kind));
  }

  /** Validation messages by body field name, for inline form errors. */
  fieldErrors(): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const issue of this.issues) {
      const [where, field] = issue.loc;
      if (where === 'body' && typeof field === 'string' && !(field in fields)) {
        fields[field] = stripValueError(issue.msg);
      }
    }
    return fields;
  }
}

/** True if a failed request may or may not have been applied (no answer, or a 5xx). */
export function isOutcomeUnknown(error: unknown): boolean {
  return error instanceof ApiError && (error.kind === 'network' || error.kind === 'server');
}

/** The refused lines of a 409 answer of batch posting or stocktake approval, or null. */
export function refusalsOf(error: unknown): Refusals | null {
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  const body = error.body;
  if (typeof body !== 'object' || body === null || !('lines' in body) || !Array.isArray(body.lines)) return null;
  return body as Refusals;
}

function stripValueError(msg: string): string {
  return msg.replace(/^Value error, /, '');
}

function issueText(issue: ValidationIssue): string {
  const field = issue.loc.slice(1).join('.');
  const msg = stripValueError(issue.msg);
  return field === '' ? msg : `${field}: ${msg}`;
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as multipart/form-data. */
  form?: FormData;
  signal?: AbortSignal;
  /** Extra request headers (e.g. Idempotency-Key). */
  headers?: Record<string, string>;
  /**
   * Send the bearer token and treat 401 as the end of the session (default true);
   * `'optional'`: send it if signed in (the answer may depend on who asks), never sign out.
   */
  auth?: boolean | 'optional';
  /** Path prefix; "/api" unless the resource lives at the root (e.g. /health). */
  prefix?: string;
  /** Non-2xx statuses whose JSON body is still the answer (e.g. 503 from /health). */
  acceptStatuses?: readonly number[];
}

export interface Download {
  blob: Blob;
  filename: string | null;
}

export interface ApiClientDeps {
  fetch: typeof fetch;
  getToken: () => string | null;
  /** Called when a request sent with `token` got a 401. */
  onUnauthorized: (token: string) => void;
}

export interface ApiClient {
  request<T>(path: string, options?: RequestOptions): Promise<T>;
  download(path: string, options?: RequestOptions): Promise<Download>;
}

export function buildUrl(prefix: string, path: string, query?: Record<string, QueryValue>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    params.append(key, String(value));
  }
  const search = params.toString();
  return `${prefix}${path}${search === '' ? '' : `?${search}`}`;
}

function filenameOf(disposition: string | null): string | null {
  if (disposition === null) return null;
  const encoded = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (encoded?.[1] !== undefined) {
    try {
      return decodeURIComponent(encoded[1]);
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
  return plain?.[1] ?? null;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  const type = response.headers.get('Content-Type') ?? '';
  if (!type.includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isIssue(value: unknown): value is ValidationIssue {
  return (
    typeof value === 'object' &&
    value !== null &&
    'msg' in value &&
    typeof value.msg === 'string' &&
    'loc' in value &&
    Array.isArray(value.loc)
  );
}

/** Maps a failed response to an ApiError (contract section 3). */
export function errorFromResponse(status: number, body: unknown): ApiError {
  const detail =
    typeof body === 'object' && body !== null && 'detail' in body ? body.detail : undefined;
  const message = typeof detail === 'string' ? detail : null;
  if (status === 401) return new ApiError('unauthorized', status, message, [], body);
  if (status >= 500) return new ApiError('server', status, message, [], body);
  if (Array.isArray(detail)) {
    const issues = detail.filter(isIssue).map(({ type, loc, msg }) => ({ type, loc, msg }));
    return new ApiError('validation', status, null, issues, body);
  }
  return new ApiError('client', status, message ?? `HTTP ${status}`, [], body);
}

export function createApiClient(deps: ApiClientDeps): ApiClient {
  async function send(path: string, options: RequestOptions): Promise<Response> {
    const { method = 'GET', query, json, form, signal, auth = true, prefix = '/api' } = options;
    const headers = new Headers({ Accept: 'application/json', ...options.headers });
    let token: string | null = null;
    if (auth === 'optional') {
      const optional = deps.getToken();
      if (optional !== null) headers.set('Authorization', `Bearer ${optional}`);
    } else if (auth) {
      token = deps.getToken();
      if (token === null) throw new ApiError('unauthorized', 401, 'Not authenticated');
      headers.set('Authorization', `Bearer ${token}`);
    }
    let body: BodyInit | undefined;
    if (json !== undefined) {
      headers.set('Content-Type', 'application/json');
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    let response: Response;
    try {
      response = await deps.fetch(buildUrl(prefix, path, query), { method, headers, body, signal });
    } catch (cause) {
      if (signal?.aborted === true) throw cause;
      throw new ApiError('network', 0, null);
    }
    const accepted = response.ok || (options.acceptStatuses ?? []).includes(response.status);
    if (!accepted) {
      const error = errorFromResponse(response.status, await readBody(response));
      if (error.kind === 'unauthorized' && token !== null) deps.onUnauthorized(token);
      throw error;
    }
    return response;
  }

  return {
    async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
      const response = await send(path, options);
      // The caller names T after the contract; the body is trusted to match it.
      return (await readBody(response)) as T;
    },
    async download(path: string, options: RequestOptions = {}): Promise<Download> {
      const response = await send(path, options);
      return {
        blob: await response.blob(),
        filename: filenameOf(response.headers.get('Content-Disposition')),
      };
    },
  };
}

/** The application's client, wired to the auth store. */
export const api: ApiClient = createApiClient({
  fetch: (input, init) => fetch(input, init),
  getToken: () => authStore.getToken(),
  onUnauthorized(token) {
    // A late 401 from an earlier session must not end the current one.
    if (authStore.getState().token === token) authStore.signOut('unauthorized');
  },
});
