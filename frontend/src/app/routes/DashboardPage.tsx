// /: totals, the product table with search (page and size kept with it, F-04)
// and the operation dialog, for all products or for one row.

import { SwapOutlined } from '@ant-design/icons';
import { Button, Card, Input, Space } from 'antd';
import { useState } from 'react';
import { QueryError } from '@/components/QueryError';
import { useProducts } from '@/features/products/api/get-products';
import { ProductsTable } from '@/features/products/components/ProductsTable';
import { SummaryCards } from '@/features/stock/components/SummaryCards';
import { useI18n } from '@/lib/i18n/i18n';
import { useUrlState } from '@/lib/search-params';
import type { Product } from '@/types/api';
import { OperationLauncher } from '../OperationLauncher';

export default function DashboardPage() {
  const { t } = useI18n();
  const url = useUrlState();
  const search = url.get('q') ?? '';
  const products = useProducts({ page: url.page, page_size: url.pageSize, search });
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
        <Input.Search
          key={search}
          defaultValue={search}
          placeholder={t('product.searchHint')}
          enterButton={t('common.search')}
          allowClear
          onSearch={(value) => url.update({ q: value.trim(), page: 1 })}
          style={{ maxWidth: 480, marginBottom: 16 }}
          data-testid="product-search"
        />
        {products.error !== null && <QueryError error={products.error} onRetry={() => void products.refetch()} />}
        <ProductsTable
          data={products.data}
          loading={products.isPending || products.isPlaceholderData}
          onPageChange={(page, size) => url.update({ page, size })}
          actions={(product) => (
            <Space>
              <Button size="small" onClick={() => setOperationFor(product)} data-testid={`operation-for-${product.barcode}`}>
                {t('operation.short')}
              </Button>
            </Space>
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
