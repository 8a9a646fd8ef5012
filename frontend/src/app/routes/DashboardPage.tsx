// /: totals, the product table with search (page and size kept with it, F-04)
// and the operation dialog, for all products or for one row.

import { SwapOutlined } from '@ant-design/icons';
import { Button, Card } from 'antd';
import { useState } from 'react';
import { ProductsTable } from '@/features/products/components/ProductsTable';
import { SummaryCards } from '@/features/stock/components/SummaryCards';
import { useI18n } from '@/lib/i18n/i18n';
import type { Product } from '@/types/api';
import { OperationLauncher } from '../OperationLauncher';

export default function DashboardPage() {
  const { t } = useI18n();
  // undefined: closed; null: open without a product; a product: open for it.
  const [operationFor, setOperationFor] = useState<Product | null | undefined>(undefined);

  return (
    <>
      <SummaryCards />
      <Card
        title={t('nav.products')}
        extra={
          <Button type="primary" icon={<SwapOutlined />} onClick={() => setOperationFor(null)} data-testid="operation-open">
            {t('operation.title')}
          </Button>
        }
      >
        <ProductsTable
          actions={(product) => (
            <Button
              size="small"
              onClick={() => setOperationFor(product)}
              aria-label={`${t('operation.short')}: ${product.barcode}`}
              data-testid={`operation-for-${product.barcode}`}
            >
              {t('operation.short')}
            </Button>
          )}
        />
      </Card>
      <OperationLauncher
        open={operationFor !== undefined}
        onClose={() => setOperationFor(undefined)}
        product={operationFor ?? undefined}
      />
    </>
  );
}
