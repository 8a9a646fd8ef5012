// /products: search, create, edit, soft delete with an undo (admins), CSV export.

import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Card, Space } from 'antd';
import { useState } from 'react';
import { DeleteButton } from '@/components/DeleteButton';
import { ExportButton } from '@/components/ExportButton';
import { useIsAdmin } from '@/features/auth/api/me';
import { exportProducts } from '@/features/products/api/export-products';
import { useDeleteProduct } from '@/features/products/api/save-product';
import { ProductFormModal } from '@/features/products/components/ProductFormModal';
import { RestoreButton } from '@/features/products/components/RestoreButton';
import { ProductsTable, useProductSearch } from '@/features/products/components/ProductsTable';
import { useI18n } from '@/lib/i18n/i18n';
import type { Product } from '@/types/api';

export default function ProductsPage() {
  const { t } = useI18n();
  const search = useProductSearch();
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
      <ProductsTable
        actions={(product) => (
          <Space>
            <Button
              size="small"
              icon={<EditOutlined />}
              onClick={() => setEditing(product)}
              aria-label={`${t('common.edit')}: ${product.barcode}`}
              data-testid={`product-edit-${product.barcode}`}
            >
              {t('common.edit')}
            </Button>
            {isAdmin && (
              <DeleteButton
                onConfirm={() => remove.mutateAsync(product.id)}
                label={`${t('common.delete')}: ${product.barcode}`}
                testId={`product-delete-${product.barcode}`}
                afterDelete={(close) => <RestoreButton id={product.id} onRestored={close} />}
              />
            )}
          </Space>
        )}
      />
      <ProductFormModal open={editing !== undefined} product={editing ?? null} onClose={() => setEditing(undefined)} />
    </Card>
  );
}
