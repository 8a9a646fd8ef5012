// /products: search, create, edit, soft delete (admins), CSV export.

import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Card, Input, Space } from 'antd';
import { useState } from 'react';
import { DeleteButton } from '@/components/DeleteButton';
import { ExportButton } from '@/components/ExportButton';
import { QueryError } from '@/components/QueryError';
import { useIsAdmin } from '@/features/auth/api/me';
import { exportProducts } from '@/features/products/api/export-products';
import { useProducts } from '@/features/products/api/get-products';
import { useDeleteProduct } from '@/features/products/api/save-product';
import { ProductFormModal } from '@/features/products/components/ProductFormModal';
import { ProductsTable } from '@/features/products/components/ProductsTable';
import { useI18n } from '@/lib/i18n/i18n';
import { useUrlState } from '@/lib/search-params';
import type { Product } from '@/types/api';

export default function ProductsPage() {
  const { t } = useI18n();
  const url = useUrlState();
  const search = url.get('q') ?? '';
  const products = useProducts({ page: url.page, page_size: url.pageSize, search });
  const remove = useDeleteProduct();
  const isAdmin = useIsAdmin();
  const [editing, setEditing] = useState<Product | null | undefined>(undefined);

  return (
    <Card
      title={t('nav.products')}
      extra={
        <Space wrap>
          <ExportButton onExport={() => exportProducts(search)} fallbackName="products.csv" testId="products-export" />
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid="product-add">
            {t('product.create')}
          </Button>
        </Space>
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
            <Button size="small" icon={<EditOutlined />} onClick={() => setEditing(product)}>
              {t('common.edit')}
            </Button>
            {isAdmin && <DeleteButton onConfirm={() => remove.mutateAsync(product.id)} />}
          </Space>
        )}
      />
      <ProductFormModal open={editing !== undefined} product={editing ?? null} onClose={() => setEditing(undefined)} />
    </Card>
  );
}
