// The operation dialog wired to the pickers of the products and reference
// features (composed here, at the app level, so features stay independent).

import { ProductSelect } from '@/features/products/components/ProductSelect';
import { DcSelect, SourceSelect } from '@/features/reference/components/ReferenceSelects';
import { OperationDialog } from '@/features/stock/components/OperationDialog';
import type { Product } from '@/types/api';

export interface OperationLauncherProps {
  open: boolean;
  onClose: () => void;
  /** Preselected product, if the dialog was opened for one. */
  product?: Product;
}

export function OperationLauncher({ open, onClose, product }: OperationLauncherProps) {
  return (
    <OperationDialog
      open={open}
      onClose={onClose}
      productId={product?.id}
      productPicker={<ProductSelect preset={product} />}
      sourcePicker={<SourceSelect />}
      dcPicker={<DcSelect />}
    />
  );
}
