// Operation types as the UI shows them: tag colours (contract 13.7; the ledger-only
// types of the import and the stocktake get their own) and the message key of each label.

import type { MovementType } from '@/types/api';
import type { MessageKey } from './i18n/messages';

interface Look {
  color: string;
  label: MessageKey;
}

const LOOKS: Record<MovementType, Look> = {
  receipt: { color: '#52c41a', label: 'op.receipt' },
  receipt_defect: { color: '#fa8c16', label: 'op.receipt_defect' },
  shipment_rc: { color: '#1890ff', label: 'op.shipment_rc' },
  return_pickup: { color: '#52c41a', label: 'op.return_pickup' },
  return_defect: { color: '#fa8c16', label: 'op.return_defect' },
  self_purchase: { color: '#52c41a', label: 'op.self_purchase' },
  write_off: { color: '#ff4d4f', label: 'op.write_off' },
  restoration: { color: '#52c41a', label: 'op.restoration' },
  utilization: { color: '#ff4d4f', label: 'op.utilization' },
  import_stock: { color: '#722ed1', label: 'op.import_stock' },
  import_defect: { color: '#722ed1', label: 'op.import_defect' },
  stocktake_stock: { color: '#13c2c2', label: 'op.stocktake_stock' },
  stocktake_defect: { color: '#13c2c2', label: 'op.stocktake_defect' },
};

/** Colour and label of a journal type; null for a type this UI does not know (grey). */
export function operationLook(type: string): Look | null {
  return Object.hasOwn(LOOKS, type) ? LOOKS[type as MovementType] : null;
}

export const UNKNOWN_OPERATION_COLOR = '#8c8c8c';

export function movementTypeLabel(type: MovementType): MessageKey {
  return LOOKS[type].label;
}
