import { describe, expect, it } from 'vitest';
import { OPERATION_TYPES, type OperationType } from '@/types/api';
import {
  MAX_QUANTITY,
  OPERATION_RULES,
  invalidFields,
  isValidQuantity,
  requiresField,
  toMovementCreate,
  type OperationFormValues,
} from './operation-rules';

const PRODUCT = '2b1f6d2e-6a43-4c3b-9a3c-7d0c1c7a9e10';
const SOURCE = '5f0f7c53-8a34-4b4e-a2fb-0d1b6f6e3c11';
const DC = '9c8d1e4b-2f6a-4d0e-8b1a-3e5f7a9b0c12';

/** Contract 7.2: the extra field each type needs. */
const EXPECTED: Record<OperationType, 'source_id' | 'distribution_center_id' | null> = {
  receipt: null,
  receipt_defect: null,
  shipment_rc: 'distribution_center_id',
  return_pickup: 'source_id',
  return_defect: 'source_id',
  self_purchase: 'source_id',
  write_off: null,
  restoration: null,
  utilization: null,
};

describe('conditional fields', () => {
  it.each(OPERATION_TYPES)('%s requires exactly its own extra field', (type) => {
    expect(requiresField(type, 'source_id')).toBe(EXPECTED[type] === 'source_id');
    expect(requiresField(type, 'distribution_center_id')).toBe(EXPECTED[type] === 'distribution_center_id');
  });

  it.each(OPERATION_TYPES)('%s: the form is invalid exactly when its extra field is missing', (type) => {
    const base: OperationFormValues = { operation_type: type, product_id: PRODUCT, quantity: 1 };
    const expected = EXPECTED[type];
    expect(invalidFields(base)).toEqual(expected === null ? [] : [expected]);
    expect(invalidFields({ ...base, source_id: SOURCE, distribution_center_id: DC })).toEqual([]);
  });

  it('shows no extra field before a type is chosen', () => {
    expect(requiresField(undefined, 'source_id')).toBe(false);
    expect(requiresField(undefined, 'distribution_center_id')).toBe(false);
  });

  it('reports every missing field of an empty form, in form order', () => {
    expect(invalidFields({})).toEqual(['operation_type', 'product_id', 'quantity']);
    expect(invalidFields({ operation_type: 'shipment_rc' })).toEqual(['product_id', 'quantity', 'distribution_center_id']);
  });

  it('rejects an operation type outside the nine', () => {
    const values = { operation_type: 'import_stock', product_id: PRODUCT, quantity: 1 } as unknown as OperationFormValues;
    expect(invalidFields(values)).toEqual(['operation_type']);
  });
});

describe('quantity', () => {
  it.each([1, 2, 1000, MAX_QUANTITY])('accepts %d', (n) => expect(isValidQuantity(n)).toBe(true));
  it.each([0, -1, 1.5, MAX_QUANTITY + 1, Number.NaN, null, undefined, '3'])('rejects %s', (n) =>
    expect(isValidQuantity(n)).toBe(false),
  );
});

describe('request body', () => {
  it('sends the source only with the types that need it', () => {
    expect(
      toMovementCreate({ operation_type: 'self_purchase', product_id: PRODUCT, quantity: 2, source_id: SOURCE, distribution_center_id: DC }),
    ).toEqual({ operation_type: 'self_purchase', product_id: PRODUCT, quantity: 2, source_id: SOURCE });
  });

  it('drops a DC left over from a shipment after switching to a receipt', () => {
    expect(toMovementCreate({ operation_type: 'receipt', product_id: PRODUCT, quantity: 5, distribution_center_id: DC })).toEqual({
      operation_type: 'receipt',
      product_id: PRODUCT,
      quantity: 5,
    });
  });

  it('sends the DC with a shipment, and trimmed notes', () => {
    expect(
      toMovementCreate({ operation_type: 'shipment_rc', product_id: PRODUCT, quantity: 3, distribution_center_id: DC, notes: '  box 4 ' }),
    ).toEqual({ operation_type: 'shipment_rc', product_id: PRODUCT, quantity: 3, distribution_center_id: DC, notes: 'box 4' });
  });

  it('omits blank notes', () => {
    expect(toMovementCreate({ operation_type: 'write_off', product_id: PRODUCT, quantity: 1, notes: '   ' })).not.toHaveProperty('notes');
  });

  it('builds nothing from an invalid form', () => {
    expect(toMovementCreate({ operation_type: 'return_pickup', product_id: PRODUCT, quantity: 1 })).toBeNull();
    expect(toMovementCreate({ operation_type: 'receipt', product_id: PRODUCT, quantity: 0 })).toBeNull();
  });
});

describe('balance effects', () => {
  it('reproduce the contract worked example (ends at stock 8, defect 3)', () => {
    const steps: [OperationType, number][] = [
      ['receipt', 10],
      ['shipment_rc', 3],
      ['return_pickup', 1],
      ['return_defect', 2],
      ['self_purchase', 1],
      ['receipt_defect', 1],
      ['write_off', 2],
      ['restoration', 1],
      ['utilization', 1],
    ];
    let stock = 0;
    let defect = 0;
    for (const [type, n] of steps) {
      stock += OPERATION_RULES[type].effect.stock * n;
      defect += OPERATION_RULES[type].effect.defect * n;
    }
    expect({ stock, defect }).toEqual({ stock: 8, defect: 3 });
  });
});
