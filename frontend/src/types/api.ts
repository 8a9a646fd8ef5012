// Shapes of the WMS API as specified in the contract (shared/spec/wms-api.md,
// sections 4–9) plus the additive fields of our backend. Field names and
// nullability follow the contract; nothing here is guessed from the reference UI.

/** UUID in its lower-case hyphenated wire form. */
export type Uuid = string;
/** ISO 8601 timestamp in UTC with a `Z` suffix. */
export type Timestamp = string;

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
  pages: number;
}

export interface PageQuery {
  page: number;
  page_size: number;
}

// ---- auth (4, 6.2, 6.3; roles from issue 5) ----

export interface LoginRequest {
  email: string;
  password: string;
}

export interface LoginResponse {
  access_token: string;
  token_type: string;
}

export type Role = 'admin' | 'operator';

export interface CurrentUser {
  email: string;
  id: Uuid;
  is_active: boolean;
  created_at: Timestamp;
  /** Additive (issue 5); absent on a server without roles. */
  role?: Role;
}

// ---- reference data (6.4, 6.5) ----

export interface Source {
  name: string;
  description: string | null;
  id: Uuid;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SourceInput {
  name: string;
  description: string | null;
}

export interface DistributionCenter {
  code: string;
  name: string;
  marketplace: string;
  id: Uuid;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DistributionCenterInput {
  code: string;
  name: string;
  marketplace: string;
}

// ---- products (6.6) ----

export interface Product extends ProductInput {
  id: Uuid;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Present in list items, and additively on GET /products/{id} (B-41). */
  stock_quantity?: number;
  defect_quantity?: number;
}

export interface ProductWithStock extends Product {
  stock_quantity: number;
  defect_quantity: number;
}

export interface ProductInput {
  barcode: string;
  gtin: string | null;
  seller_sku: string | null;
  size: string | null;
  brand: string | null;
  color: string | null;
}

// ---- stock operations (7) ----

/** Largest quantity the server accepts (32-bit column). */
export const MAX_QUANTITY = 2_147_483_647;

export const OPERATION_TYPES = [
  'receipt',
  'receipt_defect',
  'shipment_rc',
  'return_pickup',
  'return_defect',
  'self_purchase',
  'write_off',
  'restoration',
  'utilization',
] as const;

export type OperationType = (typeof OPERATION_TYPES)[number];

/**
 * Ledger-only types with signed quantities, never posted by clients: written by
 * the Excel import (9.5) and by an approved stocktake (docs/floor-api.md).
 */
export const LEDGER_MOVEMENT_TYPES = ['import_stock', 'import_defect', 'stocktake_stock', 'stocktake_defect'] as const;

export type LedgerMovementType = (typeof LEDGER_MOVEMENT_TYPES)[number];

export type MovementType = OperationType | LedgerMovementType;

export function isLedgerType(type: string): type is LedgerMovementType {
  return (LEDGER_MOVEMENT_TYPES as readonly string[]).includes(type);
}

export interface MovementCreate {
  operation_type: OperationType;
  product_id: Uuid;
  quantity: number;
  source_id?: Uuid;
  distribution_center_id?: Uuid;
  notes?: string;
}

export interface Movement {
  product_id: Uuid;
  /** A string, not MovementType: an unknown value must still render (grey tag). */
  operation_type: string;
  quantity: number;
  source_id: Uuid | null;
  distribution_center_id: Uuid | null;
  notes: string | null;
  id: Uuid;
  user_id: Uuid;
  created_at: Timestamp;
  product_barcode: string | null;
  product_gtin: string | null;
  // Additive fields of our backend (8.1); optional so an older server still renders.
  product_brand?: string | null;
  product_size?: string | null;
  product_seller_sku?: string | null;
  source_name?: string | null;
  dc_name?: string | null;
  user_email?: string | null;
}

export interface MovementFilters {
  operation_type?: string;
  product_id?: Uuid;
  barcode?: string;
  /** Local calendar dates, YYYY-MM-DD; our server makes date_to inclusive. */
  date_from?: string;
  date_to?: string;
}

// ---- batch posting (docs/floor-api.md) ----

/** Every batch line may hold at most this many items. */
export const MAX_BATCH_LINES = 500;

export interface BatchLine {
  product_id: Uuid;
  quantity: number;
}

export interface BatchRequest {
  operation_type: OperationType;
  source_id: Uuid | null;
  distribution_center_id: Uuid | null;
  notes: string | null;
  lines: BatchLine[];
}

export interface BatchResponse {
  movements: Movement[];
}

/** One refused line of a 409 batch answer (0-based index into the request's lines). */
export interface LineRefusal {
  index: number;
  product_id: Uuid;
  status: number;
  detail: string;
}

export interface Refusals {
  detail: string;
  lines: LineRefusal[];
}

export interface StockSummary {
  total_products: number;
  total_stock: number;
  total_defect: number;
}

// ---- stocktake (docs/floor-api.md) ----

export type StocktakeStatus = 'open' | 'approved' | 'cancelled';

export interface Stocktake {
  id: Uuid;
  status: StocktakeStatus;
  notes: string | null;
  created_at: Timestamp;
  created_by: Uuid;
  created_by_email: string | null;
  closed_at: Timestamp | null;
  closed_by: Uuid | null;
  reason: string | null;
  lines_total: number;
  lines_counted: number;
  lines_with_difference: number;
}

export interface StocktakeLine {
  product_id: Uuid;
  barcode: string;
  seller_sku: string | null;
  brand: string | null;
  size: string | null;
  /** Balances frozen when the stocktake started. */
  expected_quantity: number;
  expected_defect_quantity: number;
  /** Null while the line is uncounted. */
  counted_quantity: number | null;
  counted_defect_quantity: number | null;
  counted_at: Timestamp | null;
  /** Net journal change between the start and the count (or now, while uncounted). */
  moved_quantity: number;
  moved_defect_quantity: number;
  /** counted − (expected + moved); null while uncounted. */
  difference: number | null;
  defect_difference: number | null;
}

export interface StocktakeDetail extends Stocktake {
  lines: StocktakeLine[];
}

export interface StocktakeCreate {
  /** Null: every non-deleted product. */
  product_ids: Uuid[] | null;
  notes: string | null;
}

export interface StocktakeCount {
  counted_quantity: number;
  counted_defect_quantity: number;
}

export interface StocktakeScan {
  barcode: string;
  quantity: number;
  defect: boolean;
}

export interface StocktakeFilters {
  status?: StocktakeStatus;
}

// ---- Excel import (9) ----

export interface ImportRowError {
  row_number: number;
  field: string;
  message: string;
}

export interface ImportResponse {
  result: {
    total_rows: number;
    created: number;
    updated: number;
    errors: ImportRowError[];
    success: boolean;
  };
  duration_seconds: number;
}

// ---- users (issue 5, admin only) ----

export interface User {
  email: string;
  id: Uuid;
  is_active: boolean;
  role: Role;
  created_at: Timestamp;
}

export interface UserCreate {
  email: string;
  password: string;
  role: Role;
}

export interface UserUpdate {
  password?: string;
  role?: Role;
  is_active?: boolean;
}

// ---- the supervisor's aggregate health (GET /health, same origin) ----

export type StackStatus = 'starting' | 'healthy' | 'degraded' | 'stopping';

export type ServiceState =
  | 'waiting'
  | 'starting'
  | 'ready'
  | 'unhealthy'
  | 'stopping'
  | 'backoff'
  | 'stopped'
  | 'exited'
  | 'completed'
  | 'failed';

export interface ServiceExit {
  code: number | null;
  signal: string | null;
  error: string | null;
  at: Timestamp;
  ago_s: number;
}

/**
 * One service. The published port shows anyone the public view (state, restarts, uptime);
 * the other fields come only to an administrator's token (and on the loopback listener).
 */
export interface ServiceHealth {
  state: ServiceState;
  oneshot: boolean;
  restarts: number;
  uptime_s: number | null;
  pid?: number | null;
  last_exit?: ServiceExit | null;
  last_probe_error?: string | null;
  /** The last line the service printed (usually why it keeps exiting). */
  last_output?: string | null;
  next_restart_in_ms?: number | null;
  waiting_for?: { service: string; condition: string }[];
}

/**
 * The continuous backups (present when the stack archives WAL). Anyone sees the verdict and
 * the times; `problems` comes only to an administrator's token.
 */
export interface BackupHealth {
  status: 'ok' | 'failing' | 'off';
  last_base_backup_at?: Timestamp | null;
  wal_lag_seconds?: number | null;
  last_drill_ok?: boolean | null;
  problems?: string[];
}

export interface StackHealth {
  status: StackStatus;
  uptime_s: number;
  services: Record<string, ServiceHealth>;
  backup?: BackupHealth;
}
