// Scanner input anywhere in the signed-in app (no scan screen open) opens the
// scanned product. An unknown code beeps low and offers to create the product
// with that barcode (then opens it).

import { App, Button } from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { ProductFormModal } from '@/features/products/components/ProductFormModal';
import { beep } from '@/lib/beep';
import { errorText, useI18n } from '@/lib/i18n/i18n';
import { GLOBAL_PRIORITY, useScanHandler } from '@/lib/use-scanner';
import { useProductLookup } from './use-product-lookup';

export function GlobalScanner() {
  const { t } = useI18n();
  const { notification } = App.useApp();
  const navigate = useNavigate();
  const lookup = useProductLookup();
  const [creating, setCreating] = useState<string | null>(null);

  useScanHandler(async (code) => {
    try {
      const product = await lookup(code);
      if (product !== null) {
        beep('ok');
        void navigate(`/products/${product.id}`);
        return;
      }
      beep('error');
      const key = `unknown-${code}`;
      notification.error({
        key,
        title: t('scan.unknown', { code }),
        duration: 10,
        actions: (
          <Button
            type="primary"
            size="small"
            onClick={() => {
              notification.destroy(key);
              setCreating(code);
            }}
            data-testid="scan-create"
          >
            {t('scan.createProduct')}
          </Button>
        ),
      });
    } catch (error) {
      beep('error');
      notification.error({ title: errorText(error, t) });
    }
  }, GLOBAL_PRIORITY);

  return (
    <ProductFormModal
      open={creating !== null}
      product={null}
      initialBarcode={creating ?? undefined}
      onClose={() => setCreating(null)}
      onSaved={(product) => void navigate(`/products/${product.id}`)}
    />
  );
}
