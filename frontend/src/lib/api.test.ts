import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jwtExpiringIn } from '@/test/jwt';
import { ApiError, buildUrl, createApiClient, errorFromResponse, type ApiClientDeps } from './api';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

function setup(token: string | null = 'tok') {
  const fetchMock = vi.fn<ApiClientDeps['fetch']>();
  const onUnauthorized = vi.fn<(token: string) => void>();
  const client = createApiClient({ fetch: fetchMock, getToken: () => token, onUnauthorized });
  const sent = (call = 0) => {
    const [url, init] = fetchMock.mock.calls[call] ?? [];
    return { url: String(url), init: init ?? {}, headers: new Headers(init?.headers) };
  };
  return { client, fetchMock, onUnauthorized, sent };
}

async function caught(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('requests', () => {
  it('sends the bearer token under /api and parses JSON', async () => {
    const { client, fetchMock, sent } = setup('abc');
    fetchMock.mockResolvedValue(json(200, { total_products: 1 }));
    await expect(client.request('/stock/summary')).resolves.toEqual({ total_products: 1 });
    expect(sent().url).toBe('/api/stock/summary');
    expect(sent().init.method).toBe('GET');
    expect(sent().headers.get('Authorization')).toBe('Bearer abc');
  });

  it('encodes the query and leaves out empty values', () => {
    expect(buildUrl('/api', '/products/', { page: 2, page_size: 20, q: 'ab c&d', barcode: '', x: undefined, y: null })).toBe(
      '/api/products/?page=2&page_size=20&q=ab+c%26d',
    );
  });

  it('sends JSON bodies with their content type, and extra headers', async () => {
    const { client, fetchMock, sent } = setup();
    fetchMock.mockResolvedValue(json(201, { id: '1' }));
    await client.request('/stock/movements', {
      method: 'POST',
      json: { quantity: 5 },
      headers: { 'Idempotency-Key': 'k1' },
    });
    expect(sent().init.body).toBe('{"quantity":5}');
    expect(sent().headers.get('Content-Type')).toBe('application/json');
    expect(sent().headers.get('Idempotency-Key')).toBe('k1');
  });

  it('lets the browser set the multipart content type for forms', async () => {
    const { client, fetchMock, sent } = setup();
    fetchMock.mockResolvedValue(json(200, { result: {} }));
    const form = new FormData();
    form.append('file', new Blob(['x']), 'a.xlsx');
    await client.request('/import/excel', { method: 'POST', form });
    expect(sent().init.body).toBe(form);
    expect(sent().headers.has('Content-Type')).toBe(false);
  });

  it('resolves 204 to null', async () => {
    const { client, fetchMock } = setup();
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
    await expect(client.request('/products/1', { method: 'DELETE' })).resolves.toBeNull();
  });

  it('reads root resources without the token and accepts listed error statuses', async () => {
    const { client, fetchMock, sent } = setup('abc');
    fetchMock.mockResolvedValue(json(503, { status: 'degraded', services: {} }));
    await expect(client.request('/health', { prefix: '', auth: false, acceptStatuses: [503] })).resolves.toEqual({
      status: 'degraded',
      services: {},
    });
    expect(sent().url).toBe('/health');
    expect(sent().headers.has('Authorization')).toBe(false);
  });

  it('downloads a file with the name from Content-Disposition', async () => {
    const { client, fetchMock } = setup();
    fetchMock.mockResolvedValue(
      new Response('a,b\n', {
        status: 200,
        headers: { 'Content-Type': 'text/csv', 'Content-Disposition': "attachment; filename*=UTF-8''%D1%82%D0%BE%D0%B2%D0%B0%D1%80%D1%8B.csv" },
      }),
    );
    const download = await client.download('/products/export');
    expect(download.filename).toBe('товары.csv');
    expect(await download.blob.text()).toBe('a,b\n');
  });
});

describe('401 handling', () => {
  it('ends the session that sent the request', async () => {
    const { client, fetchMock, onUnauthorized } = setup('abc');
    fetchMock.mockResolvedValue(json(401, { detail: 'Could not validate credentials' }, { 'WWW-Authenticate': 'Bearer' }));
    const error = await caught(client.request('/auth/me'));
    expect(error.kind).toBe('unauthorized');
    expect(error.detail).toBe('Could not validate credentials');
    expect(onUnauthorized).toHaveBeenCalledWith('abc');
  });

  it('does not treat a failed login as the end of a session (F-02)', async () => {
    const { client, fetchMock, onUnauthorized, sent } = setup(null);
    fetchMock.mockResolvedValue(json(401, { detail: 'Invalid email or password' }));
    const error = await caught(client.request('/auth/login', { method: 'POST', json: {}, auth: false }));
    expect(error.message).toBe('Invalid email or password');
    expect(onUnauthorized).not.toHaveBeenCalled();
    expect(sent().headers.has('Authorization')).toBe(false);
  });

  it('does not send a protected request without a token', async () => {
    const { client, fetchMock } = setup(null);
    const error = await caught(client.request('/products/'));
    expect(error.kind).toBe('unauthorized');
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe('error mapping', () => {
  it('keeps the server message of a business error verbatim', async () => {
    const { client, fetchMock } = setup();
    fetchMock.mockResolvedValue(json(400, { detail: 'Недостаточно товара для отгрузки' }));
    const error = await caught(client.request('/stock/movements', { method: 'POST', json: {} }));
    expect(error).toMatchObject({ kind: 'client', status: 400, detail: 'Недостаточно товара для отгрузки' });
    expect(error.message).toBe('Недостаточно товара для отгрузки');
  });

  it('maps 409 and 404 to client errors with their detail', () => {
    const conflict = errorFromResponse(409, { detail: 'Source is referenced by stock movements and cannot be deleted' });
    expect(conflict.kind).toBe('client');
    expect(conflict.message).toBe('Source is referenced by stock movements and cannot be deleted');
    expect(errorFromResponse(404, { detail: 'Product not found' }).detail).toBe('Product not found');
  });

  it('turns a 422 list into a message and per-field errors', () => {
    const error = errorFromResponse(422, {
      detail: [
        { type: 'missing', loc: ['body', 'email'], msg: 'Field required', input: {} },
        { type: 'value_error', loc: ['body'], msg: 'Value error, source_id is required for operation_type: return_pickup', input: {} },
        { type: 'greater_than_equal', loc: ['query', 'page'], msg: 'Input should be greater than or equal to 1', input: '0' },
      ],
    });
    expect(error.kind).toBe('validation');
    expect(error.message).toBe(
      'email: Field required; source_id is required for operation_type: return_pickup; page: Input should be greater than or equal to 1',
    );
    expect(error.fieldErrors()).toEqual({ email: 'Field required' });
  });

  it('maps a plain-text 500 to a server error without detail', async () => {
    const { client, fetchMock } = setup();
    fetchMock.mockResolvedValue(new Response('Internal Server Error', { status: 500, headers: { 'Content-Type': 'text/plain' } }));
    const error = await caught(client.request('/products/'));
    expect(error).toMatchObject({ kind: 'server', status: 500, detail: null });
  });

  it('maps a refused connection to a network error', async () => {
    const { client, fetchMock } = setup();
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    const error = await caught(client.request('/products/'));
    expect(error).toMatchObject({ kind: 'network', status: 0 });
  });

  it('lets an abort through as it is', async () => {
    const { client, fetchMock } = setup();
    const controller = new AbortController();
    controller.abort();
    const abort = new DOMException('aborted', 'AbortError');
    fetchMock.mockRejectedValue(abort);
    await expect(client.request('/products/', { signal: controller.signal })).rejects.toBe(abort);
  });
});

describe('the application client and the auth store', () => {
  beforeEach(() => vi.resetModules());
  afterEach(() => vi.unstubAllGlobals());

  it('a 401 signs the current session out', async () => {
    const { api } = await import('./api');
    const { authStore } = await import('./auth-store');
    authStore.signIn(jwtExpiringIn(1800));
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(json(401, { detail: 'Could not validate credentials' })));
    await expect(api.request('/auth/me')).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(authStore.getState()).toMatchObject({ token: null, signOutReason: 'unauthorized' });
  });

  it('a late 401 from an earlier session leaves the new session alone', async () => {
    const { api } = await import('./api');
    const { authStore } = await import('./auth-store');
    authStore.signIn(jwtExpiringIn(1800, 'first@wms.example.com'));
    let answer: (response: Response) => void = () => undefined;
    vi.stubGlobal('fetch', vi.fn().mockReturnValue(new Promise<Response>((resolve) => (answer = resolve))));
    const late = api.request('/products/');
    const second = jwtExpiringIn(1800, 'second@wms.example.com');
    authStore.signIn(second);
    answer(json(401, { detail: 'Could not validate credentials' }));
    await expect(late).rejects.toMatchObject({ kind: 'unauthorized' });
    expect(authStore.getToken()).toBe(second);
  });
});

describe('optional authentication', () => {
  it('sends the token when signed in, nothing when not, and never ends the session', async () => {
    const signedIn = setup('abc');
    signedIn.fetchMock.mockResolvedValue(json(401, { detail: 'Not authenticated' }));
    await expect(signedIn.client.request('/health', { prefix: '', auth: 'optional' })).rejects.toBeInstanceOf(ApiError);
    expect(signedIn.sent().headers.get('Authorization')).toBe('Bearer abc');
    expect(signedIn.onUnauthorized).not.toHaveBeenCalled();

    const anonymous = setup(null);
    anonymous.fetchMock.mockResolvedValue(json(200, { status: 'healthy' }));
    await expect(anonymous.client.request('/health', { prefix: '', auth: 'optional' })).resolves.toEqual({ status: 'healthy' });
    expect(anonymous.sent().headers.has('Authorization')).toBe(false);
  });
});
