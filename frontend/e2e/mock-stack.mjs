// @ts-check
// A stand-in for the stack, for running the end-to-end script without the real
// backend and supervisor: serves the built SPA (index.html fallback), an
// in-memory API with the contract's shapes for the calls the UI makes, and a
// supervisor-style /health. POST /__mock/stop and /__mock/start flip the
// backend service so the status page can be seen degrading and recovering.
// It checks only what the UI needs; the real stack is the judge.
//
// Usage: node e2e/mock-stack.mjs [PORT] [DIST_DIR]   (defaults 4174, dist)

import { randomUUID } from 'node:crypto';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const port = Number(process.argv[2] ?? 4174);
const dist = process.argv[3] ?? 'dist';
const ADMIN = { email: 'admin@wms.example.com', password: 'admin123' };
const started = Date.now();
let backendUp = true;

const now = () => new Date().toISOString();
const user = { email: ADMIN.email, id: randomUUID(), is_active: true, created_at: now(), role: 'admin' };
const sources = ['Поставщик РФ', 'ПВЗ Казань'].map((name) => ({ name, description: null, id: randomUUID(), created_at: now(), updated_at: now() }));
const dcs = [['WB-KAZAN', 'Казань WB', 'WB']].map(([code, name, marketplace]) => ({ code, name, marketplace, id: randomUUID(), created_at: now(), updated_at: now() }));
/** @type {any[]} */
const products = [];
/** @type {any[]} */
const movements = [];

const NEEDS = { shipment_rc: 'dc', return_pickup: 'source', return_defect: 'source', self_purchase: 'source' };
/** @type {Record<string, [number, number, string | null]>} stock delta, defect delta, message when short */
const EFFECTS = {
  receipt: [1, 0, null], receipt_defect: [0, 1, null], shipment_rc: [-1, 0, 'Недостаточно товара для отгрузки'],
  return_pickup: [1, 0, null], return_defect: [0, 1, null], self_purchase: [1, 0, null],
  write_off: [-1, 1, 'Недостаточно товара для списания в брак'], restoration: [1, -1, 'Недостаточно брака для восстановления'],
  utilization: [0, -1, 'Недостаточно брака для утилизации'],
};

/** @param {import('node:http').ServerResponse} res @param {number} status @param {unknown} [body] */
function send(res, status, body) {
  if (body === undefined) return res.writeHead(status).end();
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** @param {any[]} items @param {URLSearchParams} q */
function page(items, q) {
  const p = Number(q.get('page') ?? 1);
  const size = Number(q.get('page_size') ?? 20);
  return { items: items.slice((p - 1) * size, p * size), total: items.length, page: p, page_size: size, pages: Math.max(1, Math.ceil(items.length / size)) };
}

/** @param {import('node:http').IncomingMessage} req @returns {Promise<Buffer>} */
async function body(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const tokens = new Set();

/** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res @param {URL} url */
async function api(req, res, url) {
  const path = url.pathname.slice(4);
  const q = url.searchParams;
  if (path === '/auth/login' && req.method === 'POST') {
    const { email, password } = JSON.parse((await body(req)).toString() || '{}');
    if (email !== ADMIN.email || password !== ADMIN.password) return send(res, 401, { detail: 'Invalid email or password' });
    const claims = Buffer.from(JSON.stringify({ sub: email, exp: Math.floor(Date.now() / 1000) + 1800 })).toString('base64url');
    const token = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${claims}.${randomUUID()}`;
    tokens.add(token);
    return send(res, 200, { access_token: token, token_type: 'bearer' });
  }
  const token = (req.headers.authorization ?? '').replace(/^Bearer /i, '');
  if (!tokens.has(token)) return send(res, 401, { detail: 'Could not validate credentials' });
  const live = products.filter((p) => !p.deleted);
  const strip = (/** @type {any} */ p) => { const copy = { ...p }; delete copy.deleted; return copy; };
  const id = path.split('/')[2];
  if (path === '/auth/me') return send(res, 200, user);
  if (path === '/users/') return send(res, 200, [user]);
  if (path === '/export/movements.csv') {
    const csv = ['id,operation_type,product_barcode,quantity', ...movements.map((m) => [m.id, m.operation_type, m.product_barcode, m.quantity].join(','))].join('\n');
    return res.writeHead(200, { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="movements.csv"' }).end(csv);
  }
  if (path === '/sources/') return send(res, 200, sources);
  if (path === '/distribution-centers/') return send(res, 200, dcs);
  if (path === '/stock/summary') {
    return send(res, 200, { total_products: live.length, total_stock: live.reduce((n, p) => n + p.stock_quantity, 0), total_defect: live.reduce((n, p) => n + p.defect_quantity, 0) });
  }
  if (path === '/products/' && req.method === 'GET') {
    const text = (q.get('q') ?? '').toLowerCase();
    return send(res, 200, page(live.filter((p) => p.barcode.toLowerCase().includes(text) || (p.seller_sku ?? '').toLowerCase().includes(text)).map(strip), q));
  }
  if (path === '/products/' && req.method === 'POST') {
    const input = JSON.parse((await body(req)).toString());
    if (products.some((p) => p.barcode === input.barcode)) return send(res, 400, { detail: `Product with barcode '${input.barcode}' already exists` });
    const product = { ...input, id: randomUUID(), created_at: now(), updated_at: now(), stock_quantity: 0, defect_quantity: 0, deleted: false };
    products.unshift(product);
    return send(res, 201, strip(product));
  }
  const product = products.find((p) => p.id === id && !p.deleted);
  if (path.startsWith('/products/') && req.method === 'GET') return product ? send(res, 200, strip(product)) : send(res, 404, { detail: 'Product not found' });
  if (path.startsWith('/products/') && req.method === 'PUT' && product) {
    Object.assign(product, JSON.parse((await body(req)).toString()), { updated_at: now() });
    return send(res, 200, strip(product));
  }
  if (path.startsWith('/products/') && req.method === 'DELETE' && product) return (product.deleted = true), send(res, 204);
  if (path === '/stock/movements' && req.method === 'POST') {
    const m = JSON.parse((await body(req)).toString());
    const target = products.find((p) => p.id === m.product_id && !p.deleted);
    if (!target) return send(res, 404, { detail: 'Product not found' });
    const need = /** @type {Record<string, string>} */ (NEEDS)[m.operation_type];
    if (need === 'dc' && !m.distribution_center_id) return send(res, 422, { detail: [{ type: 'value_error', loc: ['body'], msg: 'Value error, distribution_center_id is required for operation_type: shipment_rc', input: m }] });
    if (need === 'source' && !m.source_id) return send(res, 422, { detail: [{ type: 'value_error', loc: ['body'], msg: `Value error, source_id is required for operation_type: ${m.operation_type}`, input: m }] });
    const effect = EFFECTS[m.operation_type];
    if (effect === undefined) return send(res, 422, { detail: [{ type: 'value_error', loc: ['body', 'operation_type'], msg: 'Value error, Invalid operation_type', input: m.operation_type }] });
    const [ds, dd, short] = effect;
    if (target.stock_quantity + ds * m.quantity < 0 || target.defect_quantity + dd * m.quantity < 0) return send(res, 400, { detail: short });
    target.stock_quantity += ds * m.quantity;
    target.defect_quantity += dd * m.quantity;
    const row = {
      product_id: target.id, operation_type: m.operation_type, quantity: m.quantity, source_id: m.source_id ?? null,
      distribution_center_id: m.distribution_center_id ?? null, notes: m.notes ?? null, id: randomUUID(), user_id: user.id,
      created_at: now(), product_barcode: target.barcode, product_gtin: target.gtin, product_brand: target.brand,
      product_size: target.size, product_seller_sku: target.seller_sku,
      source_name: sources.find((s) => s.id === m.source_id)?.name ?? null, dc_name: dcs.find((d) => d.id === m.distribution_center_id)?.name ?? null,
      user_email: user.email,
    };
    movements.unshift(row);
    return send(res, 201, row);
  }
  if (path === '/stock/movements' && req.method === 'GET') {
    const day = (/** @type {string} */ iso) => iso.slice(0, 10);
    const rows = movements.filter((m) =>
      (!q.get('operation_type') || m.operation_type === q.get('operation_type')) &&
      (!q.get('product_id') || m.product_id === q.get('product_id')) &&
      (!q.get('barcode') || m.product_barcode.toLowerCase().includes(String(q.get('barcode')).toLowerCase())) &&
      (!q.get('date_from') || day(m.created_at) >= String(q.get('date_from'))) &&
      (!q.get('date_to') || day(m.created_at) <= String(q.get('date_to'))));
    return send(res, 200, page(rows, q));
  }
  if (path === '/import/excel' && req.method === 'POST') {
    const raw = (await body(req)).toString('latin1');
    const name = /filename="([^"]*)"/.exec(raw)?.[1] ?? '';
    if (name.includes('bad')) {
      return send(res, 200, { result: { total_rows: 1, created: 0, updated: 0, errors: [{ row_number: 2, field: 'stock_quantity', message: 'Stock quantity cannot be negative' }], success: false }, duration_seconds: 0.01 });
    }
    return send(res, 200, { result: { total_rows: 2, created: 1, updated: 1, errors: [], success: true }, duration_seconds: 0.02 });
  }
  return send(res, 404, { detail: 'Not Found' });
}

function health() {
  const service = (/** @type {boolean} */ up, /** @type {number} */ restarts) => ({
    state: up ? 'ready' : 'stopped', oneshot: false, pid: up ? 4242 : null, restarts, uptime_s: up ? Math.floor((Date.now() - started) / 1000) : null,
    last_exit: up ? null : { code: null, signal: 'SIGTERM', error: null, at: now(), ago_s: 1 }, last_probe_error: null, next_restart_in_ms: null, waiting_for: [],
  });
  const services = {
    'pg-init': { ...service(true, 0), state: 'completed', pid: null, uptime_s: null },
    postgres: service(true, 0), migrate: { ...service(true, 0), state: 'completed', oneshot: true, pid: null, uptime_s: null },
    backend: service(backendUp, 0), web: service(true, 0),
  };
  return { status: backendUp ? 'healthy' : 'degraded', uptime_s: Math.floor((Date.now() - started) / 1000), services };
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/__mock/stop') return (backendUp = false), send(res, 204);
  if (url.pathname === '/__mock/start') return (backendUp = true), send(res, 204);
  if (url.pathname === '/health') return send(res, backendUp ? 200 : 503, health());
  if (url.pathname.startsWith('/api/')) {
    if (!backendUp) return send(res, 502, { detail: 'Bad Gateway' });
    return void api(req, res, url).catch((error) => send(res, 500, { detail: String(error) }));
  }
  const file = join(dist, normalize(url.pathname).replace(/^(\.\.[/\\])+/, ''));
  const target = existsSync(file) && statSync(file).isFile() ? file : join(dist, 'index.html');
  res.writeHead(200, { 'Content-Type': /** @type {Record<string, string>} */ (TYPES)[extname(target)] ?? 'application/octet-stream' });
  res.end(readFileSync(target));
}).listen(port, '127.0.0.1', () => console.log(`mock stack on http://127.0.0.1:${port}`));
