import { describe, expect, it } from 'vitest';
import {
  initialSession,
  nextAttempt,
  postProblem,
  sessionReducer,
  toBatchRequest,
  totalUnits,
  type ScannedProduct,
  type SessionAction,
  type SessionState,
} from './scan-session';

const product = (n: number): ScannedProduct => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  barcode: `460000000000${n}`,
  seller_sku: null,
  brand: null,
  size: null,
});
const A = product(1);
const B = product(2);
const SOURCE = '5f0f7c53-8a34-4b4e-a2fb-0d1b6f6e3c11';
const DC = '9c8d1e4b-2f6a-4d0e-8b1a-3e5f7a9b0c12';

function run(actions: SessionAction[], state: SessionState = initialSession()): SessionState {
  return actions.reduce(sessionReducer, state);
}

const scan = (p: ScannedProduct): SessionAction => ({ type: 'scanned', product: p });
const quantities = (state: SessionState) => state.lines.map((l) => [l.product.barcode, l.quantity]);

describe('scanning', () => {
  it('adds one unit per scan; repeats count up; lines keep first-scan order', () => {
    const state = run([scan(A), scan(B), scan(A), scan(A)]);
    expect(quantities(state)).toEqual([
      [A.barcode, 3],
      [B.barcode, 1],
    ]);
    expect(totalUnits(state)).toBe(4);
  });

  it('undo takes back the last scan, then the one before', () => {
    let state = run([scan(A), scan(B), scan(A)]);
    state = sessionReducer(state, { type: 'undo' });
    expect(quantities(state)).toEqual([
      [A.barcode, 1],
      [B.barcode, 1],
    ]);
    state = sessionReducer(state, { type: 'undo' });
    expect(quantities(state)).toEqual([[A.barcode, 1]]);
    state = run([{ type: 'undo' }, { type: 'undo' }], state);
    expect(state.lines).toEqual([]);
  });

  it('unknown codes are kept once each, and undo takes the last one back', () => {
    let state = run([scan(A), { type: 'unknown', code: 'X1' }, { type: 'unknown', code: 'X2' }, { type: 'unknown', code: 'X1' }]);
    expect(state.unknown).toEqual(['X2', 'X1']);
    state = sessionReducer(state, { type: 'undo' });
    // X1 was scanned twice: one undo leaves it listed.
    expect(state.unknown).toEqual(['X2', 'X1']);
    state = run([{ type: 'undo' }, { type: 'undo' }], state);
    expect(state.unknown).toEqual([]);
    expect(quantities(state)).toEqual([[A.barcode, 1]]);
  });

  it('a typed quantity replaces the count; 0 or removing drops the line and its scans', () => {
    let state = run([scan(A), scan(B), { type: 'setQuantity', id: A.id, quantity: 12 }]);
    expect(quantities(state)).toEqual([
      [A.barcode, 12],
      [B.barcode, 1],
    ]);
    state = sessionReducer(state, { type: 'setQuantity', id: A.id, quantity: 1.5 });
    expect(quantities(state)[0]).toEqual([A.barcode, 12]);
    state = sessionReducer(state, { type: 'removeLine', id: B.id });
    state = sessionReducer(state, { type: 'undo' });
    // B's scans went with its line; undo reached A's scan.
    expect(quantities(state)).toEqual([[A.barcode, 11]]);
  });
});

describe('posting', () => {
  it('builds the batch body, with only the field the operation takes', () => {
    let state = run([
      { type: 'configure', setup: { operation_type: 'shipment_rc', distribution_center_id: DC, source_id: SOURCE, notes: ' box 7 ' } },
      scan(A),
      scan(A),
      scan(B),
    ]);
    expect(toBatchRequest(state)).toEqual({
      operation_type: 'shipment_rc',
      source_id: null,
      distribution_center_id: DC,
      notes: 'box 7',
      lines: [
        { product_id: A.id, quantity: 2 },
        { product_id: B.id, quantity: 1 },
      ],
    });
    state = sessionReducer(state, { type: 'configure', setup: { operation_type: 'receipt', notes: '' } });
    expect(toBatchRequest(state)).toMatchObject({ source_id: null, distribution_center_id: null, notes: null });
  });

  it('says why it cannot be posted', () => {
    expect(postProblem(initialSession())).toBe('empty');
    const shipment = run([{ type: 'configure', setup: { operation_type: 'shipment_rc' } }, scan(A)]);
    expect(postProblem(shipment)).toBe('dcRequired');
    expect(postProblem(sessionReducer(shipment, { type: 'configure', setup: { distribution_center_id: DC } }))).toBeNull();
    const pickup = run([{ type: 'configure', setup: { operation_type: 'return_pickup' } }, scan(A)]);
    expect(postProblem(pickup)).toBe('sourceRequired');
  });

  it('refuses more lines than a batch takes', () => {
    const many = Array.from({ length: 501 }, (_, i) =>
      scan({ ...A, id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }),
    );
    expect(postProblem(run(many))).toBe('tooManyLines');
  });

  it('a retry of the same body reuses the key; any change makes a new attempt', () => {
    let state = run([scan(A), scan(B)]);
    const first = nextAttempt(state, 'key-1');
    expect(first.key).toBe('key-1');
    state = sessionReducer(state, { type: 'posting', attempt: first });
    expect(postProblem(state)).toBe('busy');
    // A scan while posting does not change what is being posted.
    expect(sessionReducer(state, scan(A))).toBe(state);
    state = sessionReducer(state, { type: 'failedUnknown' });
    expect(nextAttempt(state, 'key-2')).toEqual(first);
    state = sessionReducer(state, scan(A));
    expect(nextAttempt(state, 'key-3').key).toBe('key-3');
  });

  it('a whole-request refusal drops the attempt even if the body stays', () => {
    let state = run([scan(A)]);
    state = run([{ type: 'posting', attempt: nextAttempt(state, 'k1') }, { type: 'failed' }], state);
    expect(nextAttempt(state, 'k2').key).toBe('k2');
  });

  it('refusals land on their lines by index and go when the line changes', () => {
    let state = run([scan(A), scan(B), scan(B)]);
    state = sessionReducer(state, { type: 'posting', attempt: nextAttempt(state, 'k') });
    state = sessionReducer(state, {
      type: 'refused',
      lines: [{ index: 1, product_id: B.id, status: 400, detail: 'Недостаточно товара для отгрузки' }],
    });
    expect(state.status).toBe('editing');
    expect(state.lines.map((l) => l.refusal?.detail ?? null)).toEqual([null, 'Недостаточно товара для отгрузки']);
    // Nothing was posted: the same body may be retried with the same key.
    expect(nextAttempt(state, 'other').key).toBe('k');
    state = sessionReducer(state, { type: 'setQuantity', id: B.id, quantity: 1 });
    expect(state.lines[1]?.refusal).toBeNull();
  });

  it('a successful post empties the list and keeps the setup', () => {
    let state = run([{ type: 'configure', setup: { operation_type: 'shipment_rc', distribution_center_id: DC, notes: 'x' } }, scan(A)]);
    state = run([{ type: 'posting', attempt: nextAttempt(state, 'k') }, { type: 'posted', movements: 1 }], state);
    expect(state.lines).toEqual([]);
    expect(state.scans).toEqual([]);
    expect(state.posted).toBe(1);
    expect(state.setup).toMatchObject({ operation_type: 'shipment_rc', distribution_center_id: DC, notes: 'x' });
    expect(state.attempt).toBeNull();
  });
});
