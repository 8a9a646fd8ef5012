// A scan session (issue 19): the operation and its source/DC are chosen once,
// then every scan adds one unit of a product; repeats count up, the last scan
// can be undone, unknown codes are kept aside. Posting sends the whole list as
// one batch with an Idempotency-Key that belongs to this exact body: a double
// submit or a retry after an unknown outcome reuses it (the server posts once),
// while any change to the list or the setup makes the next attempt a new one.
// Pure: the reducer and the helpers are unit-tested without React.

import {
  MAX_BATCH_LINES,
  type BatchRequest,
  type LineRefusal,
  type OperationType,
  type ProductWithStock,
  type Uuid,
} from '@/types/api';
import { MAX_QUANTITY, OPERATION_RULES } from './operation-rules';

/** What a line shows of its product. */
export type ScannedProduct = Pick<ProductWithStock, 'id' | 'barcode' | 'seller_sku' | 'brand' | 'size'>;

export interface SessionLine {
  product: ScannedProduct;
  quantity: number;
  /** The server's refusal of this line in the last attempt, until the line changes. */
  refusal: LineRefusal | null;
}

export interface SessionSetup {
  operation_type: OperationType;
  source_id: Uuid | null;
  distribution_center_id: Uuid | null;
  notes: string;
}

/** One scan, for undo: a product unit added, or a code nobody knows. */
export type ScanEntry = { kind: 'product'; id: Uuid } | { kind: 'unknown'; code: string };

export interface Attempt {
  key: string;
  body: string;
}

export type SessionStatus = 'editing' | 'posting';

export interface SessionState {
  setup: SessionSetup;
  /** In the order each product was first scanned. */
  lines: SessionLine[];
  /** Every scan still in effect, the latest last. */
  scans: ScanEntry[];
  /** Unknown codes, each once, the latest last. */
  unknown: string[];
  /** The body sent last and its key; null once anything changed. */
  attempt: Attempt | null;
  status: SessionStatus;
  /** Movements created by the last successful post (for the confirmation). */
  posted: number | null;
}

export type SessionAction =
  | { type: 'configure'; setup: Partial<SessionSetup> }
  | { type: 'scanned'; product: ScannedProduct }
  | { type: 'unknown'; code: string }
  | { type: 'undo' }
  | { type: 'setQuantity'; id: Uuid; quantity: number }
  | { type: 'removeLine'; id: Uuid }
  | { type: 'dismissUnknown'; code: string }
  | { type: 'clear' }
  | { type: 'posting'; attempt: Attempt }
  | { type: 'posted'; movements: number }
  | { type: 'refused'; lines: LineRefusal[] }
  /** The outcome is unknown (network, 5xx): the same attempt may be retried. */
  | { type: 'failedUnknown' }
  /** Refused as a whole (422, 404 source/DC): nothing was posted; the next attempt is new. */
  | { type: 'failed' };

export function initialSession(operation_type: OperationType = 'receipt'): SessionState {
  return {
    setup: { operation_type, source_id: null, distribution_center_id: null, notes: '' },
    lines: [],
    scans: [],
    unknown: [],
    attempt: null,
    status: 'editing',
    posted: null,
  };
}

/** The batch body of the current list and setup (a source or DC the type does not take is left out). */
export function toBatchRequest(state: SessionState): BatchRequest {
  const { operation_type, source_id, distribution_center_id, notes } = state.setup;
  const requires = OPERATION_RULES[operation_type].requires;
  const trimmed = notes.trim();
  return {
    operation_type,
    source_id: requires === 'source_id' ? source_id : null,
    distribution_center_id: requires === 'distribution_center_id' ? distribution_center_id : null,
    notes: trimmed === '' ? null : trimmed,
    lines: state.lines.map((line) => ({ product_id: line.product.id, quantity: line.quantity })),
  };
}

export type PostProblem = 'empty' | 'tooManyLines' | 'sourceRequired' | 'dcRequired' | 'busy';

/** Why the session cannot be posted now, or null if it can. */
export function postProblem(state: SessionState): PostProblem | null {
  if (state.status === 'posting') return 'busy';
  if (state.lines.length === 0) return 'empty';
  if (state.lines.length > MAX_BATCH_LINES) return 'tooManyLines';
  const requires = OPERATION_RULES[state.setup.operation_type].requires;
  if (requires === 'source_id' && state.setup.source_id === null) return 'sourceRequired';
  if (requires === 'distribution_center_id' && state.setup.distribution_center_id === null) return 'dcRequired';
  return null;
}

/** The attempt to send: the previous one if the body is unchanged (a retry), else a new key. */
export function nextAttempt(state: SessionState, newKey: string): Attempt {
  const body = JSON.stringify(toBatchRequest(state));
  return state.attempt !== null && state.attempt.body === body ? state.attempt : { key: newKey, body };
}

/** Units in the list. */
export function totalUnits(state: SessionState): number {
  return state.lines.reduce((sum, line) => sum + line.quantity, 0);
}

function withLines(state: SessionState, lines: SessionLine[], scans = state.scans): SessionState {
  return { ...state, lines, scans, attempt: null, posted: null };
}

function changeQuantity(state: SessionState, id: Uuid, quantity: number, scans = state.scans): SessionState {
  if (quantity <= 0) {
    return withLines(
      state,
      state.lines.filter((line) => line.product.id !== id),
      scans.filter((scan) => scan.kind !== 'product' || scan.id !== id),
    );
  }
  const lines = state.lines.map((line) =>
    line.product.id === id ? { ...line, quantity: Math.min(quantity, MAX_QUANTITY), refusal: null } : line,
  );
  return withLines(state, lines, scans);
}

export function sessionReducer(state: SessionState, action: SessionAction): SessionState {
  // While a post is in flight the list is frozen: it is what the server is posting.
  if (state.status === 'posting' && !['posted', 'refused', 'failed', 'failedUnknown'].includes(action.type)) return state;
  switch (action.type) {
    case 'configure':
      return { ...state, setup: { ...state.setup, ...action.setup }, attempt: null, posted: null };
    case 'scanned': {
      const { product } = action;
      const scans: ScanEntry[] = [...state.scans, { kind: 'product', id: product.id }];
      const line = state.lines.find((l) => l.product.id === product.id);
      if (line !== undefined) return changeQuantity(state, product.id, line.quantity + 1, scans);
      return withLines(state, [...state.lines, { product, quantity: 1, refusal: null }], scans);
    }
    case 'unknown':
      return {
        ...state,
        unknown: [...state.unknown.filter((code) => code !== action.code), action.code],
        scans: [...state.scans, { kind: 'unknown', code: action.code }],
        posted: null,
      };
    case 'undo': {
      const last = state.scans.at(-1);
      if (last === undefined) return state;
      const scans = state.scans.slice(0, -1);
      if (last.kind === 'unknown') {
        const stillScanned = scans.some((s) => s.kind === 'unknown' && s.code === last.code);
        return { ...state, scans, unknown: stillScanned ? state.unknown : state.unknown.filter((c) => c !== last.code) };
      }
      const line = state.lines.find((l) => l.product.id === last.id);
      if (line === undefined) return { ...state, scans };
      return changeQuantity(state, last.id, line.quantity - 1, scans);
    }
    case 'setQuantity':
      return Number.isInteger(action.quantity) ? changeQuantity(state, action.id, action.quantity) : state;
    case 'removeLine':
      return changeQuantity(state, action.id, 0);
    case 'dismissUnknown':
      return {
        ...state,
        unknown: state.unknown.filter((code) => code !== action.code),
        scans: state.scans.filter((s) => s.kind !== 'unknown' || s.code !== action.code),
      };
    case 'clear':
      return { ...initialSession(state.setup.operation_type), setup: state.setup };
    case 'posting':
      return {
        ...state,
        status: 'posting',
        attempt: action.attempt,
        lines: state.lines.map((line) => ({ ...line, refusal: null })),
      };
    case 'posted':
      return { ...initialSession(), setup: state.setup, posted: action.movements };
    case 'refused': {
      const byIndex = new Map(action.lines.map((refusal) => [refusal.index, refusal]));
      const lines = state.lines.map((line, index) => ({ ...line, refusal: byIndex.get(index) ?? null }));
      // Nothing was posted; the same body may be sent again (e.g. once stock has arrived).
      return { ...state, status: 'editing', lines };
    }
    case 'failedUnknown':
      return { ...state, status: 'editing' };
    case 'failed':
      return { ...state, status: 'editing', attempt: null };
  }
}
