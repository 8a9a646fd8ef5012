// Operation types as the UI shows them: tag colours (contract 13.7; the ledger-only
// types of the import and the stocktake get their own) and the message key of each label.

import type { MovementType } from '@/types/api';
import { TAG } from './colors';
import type { MessageKey } from './i18n/messages';

interface Look {
  color: string;
  label: MessageKey;
}

const LOOKS: Record<MovementType, Look> = {
  receipt: { color: TAG.green, label: 'op.receipt' },
  receipt_defect: { color: TAG.orange, label: 'op.receipt_defect' },
  shipment_rc: { color: TAG.blue, label: 'op.shipment_rc' },
  return_pickup: { color: TAG.green, label: 'op.return_pickup' },
  return_defect: { color: TAG.orange, label: 'op.return_defect' },
  self_purchase: { color: TAG.green, label: 'op.self_purchase' },
  write_off: { color: TAG.red, label: 'op.write_off' },
  restoration: { color: TAG.green, label: 'op.restoration' },
  utilization: { color: TAG.red, label: 'op.utilization' },
  import_stock: { color: TAG.purple, label: 'op.import_stock' },
  import_defect: { color: TAG.purple, label: 'op.import_defect' },
  stocktake_stock: { color: TAG.cyan, label: 'op.stocktake_stock' },
  stocktake_defect: { color: TAG.cyan, label: 'op.stocktake_defect' },
};

/** Colour and label of a journal type; null for a type this UI does not know (grey). */
export function operationLook(type: string): Look | null {
  return Object.hasOwn(LOOKS, type) ? LOOKS[type as MovementType] : null;
}

export const UNKNOWN_OPERATION_COLOR = TAG.grey;

export function movementTypeLabel(type: MovementType): MessageKey {
  return LOOKS[type].label;
}
