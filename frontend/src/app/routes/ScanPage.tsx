// /scan: the scan session, wired to the product lookup, the product form (for
// unknown codes) and the source/DC pickers of the other features.

import { ProductFormModal } from '@/features/products/components/ProductFormModal';
import { DcSelect, SourceSelect } from '@/features/reference/components/ReferenceSelects';
import { ScanSession } from '@/features/stock/components/ScanSession';
import { useProductLookup } from '../use-product-lookup';

export default function ScanPage() {
  const lookup = useProductLookup();
  return (
    <ScanSession
      lookup={lookup}
      sourcePicker={<SourceSelect />}
      dcPicker={<DcSelect />}
      createDialog={(code, onCreated, onClose) => (
        <ProductFormModal open product={null} initialBarcode={code} onClose={onClose} onSaved={onCreated} />
      )}
    />
  );
}
