// The operation form's rules (contract 7.1, 7.2): which extra field each of the
// nine types requires, how quantities are bounded, and the request body built
// from the form. Pure, so the rules are unit-tested apart from the UI.

import { MAX_QUANTITY, OPERATION_TYPES, type MovementCreate, type OperationType, type Uuid } from '@/types/api';

/** A form field that only some operation types show and require. */
export type ConditionalField = 'source_id' | 'distribution_center_id';

/** How an operation changes the two balances: +1 adds n, -1 removes n. */
export interface BalanceEffect {
  stock: -1 | 0 | 1;
  defect: -1 | 0 | 1;
}

interface OperationRule {
  requires: ConditionalField | null;
  effect: BalanceEffect;
}

export const OPERATION_RULES: Record<OperationType, OperationRule> = {
  receipt: { requires: null, effect: { stock: 1, defect: 0 } },
  receipt_defect: { requires: null, effect: { stock: 0, defect: 1 } },
  shipment_rc: { requires: 'distribution_center_id', effect: { stock: -1, defect: 0 } },
  return_pickup: { requires: 'source_id', effect: { stock: 1, defect: 0 } },
  return_defect: { requires: 'source_id', effect: { stock: 0, defect: 1 } },
  self_purchase: { requires: 'source_id', effect: { stock: 1, defect: 0 } },
  write_off: { requires: null, effect: { stock: -1, defect: 1 } },
  restoration: { requires: null, effect: { stock: 1, defect: -1 } },
  utilization: { requires: null, effect: { stock: 0, defect: -1 } },
};

export { MAX_QUANTITY };

export function isOperationType(value: unknown): value is OperationType {
  return typeof value === 'string' && (OPERATION_TYPES as readonly string[]).includes(value);
}

/** True if and only if `field` is shown and required for `type`. */
export function requiresField(type: OperationType | undefined, field: ConditionalField): boolean {
  return isOperationType(type) && OPERATION_RULES[type].requires === field;
}

export function isValidQuantity(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_QUANTITY;
}

export interface OperationFormValues {
  operation_type?: OperationType;
  product_id?: Uuid;
  quantity?: number | null;
  source_id?: Uuid;
  distribution_center_id?: Uuid;
  notes?: string;
}

export type OperationFormField = keyof OperationFormValues;

/** Fields that are missing or invalid, in form order; empty when the form can be sent. */
export function invalidFields(values: OperationFormValues): OperationFormField[] {
  const invalid: OperationFormField[] = [];
  const type = values.operation_type;
  if (!isOperationType(type)) invalid.push('operation_type');
  if (values.product_id === undefined || values.product_id === '') invalid.push('product_id');
  if (!isValidQuantity(values.quantity)) invalid.push('quantity');
  for (const field of ['source_id', 'distribution_center_id'] as const) {
    const value = values[field];
    if (requiresField(type, field) && (value === undefined || value === '')) invalid.push(field);
  }
  return invalid;
}

/**
 * The body of POST /api/stock/movements. A source or DC left over from another
 * type is not sent; empty notes are omitted. Null if the form is not valid.
 */
export function toMovementCreate(values: OperationFormValues): MovementCreate | null {
  const { operation_type: type, product_id, quantity } = values;
  if (invalidFields(values).length > 0 || type === undefined || product_id === undefined) return null;
  if (!isValidQuantity(quantity)) return null;
  const body: MovementCreate = { operation_type: type, product_id, quantity };
  const extra = OPERATION_RULES[type].requires;
  if (extra !== null) {
    const value = values[extra];
    if (value !== undefined) body[extra] = value;
  }
  const notes = values.notes?.trim();
  if (notes !== undefined && notes !== '') body.notes = notes;
  return body;
}
