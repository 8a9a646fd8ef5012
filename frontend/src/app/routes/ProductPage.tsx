// /products/:id: the product's attributes and balances, edit, delete, an
// operation for it, and its own journal (filtered by product_id).

import { EditOutlined, SwapOutlined } from '@ant-design/icons';
import { Button, Card, Descriptions, Result, Space, Spin } from 'antd';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { DeleteButton } from '@/components/DeleteButton';
import { QueryError } from '@/components/QueryError';
import { useIsAdmin } from '@/features/auth/api/me';
import { useMovements } from '@/features/movements/api/get-movements';
import { MovementsTable } from '@/features/movements/components/MovementsTable';
import { useProduct } from '@/features/products/api/get-product';
import { useDeleteProduct } from '@/features/products/api/save-product';
import { ProductFormModal } from '@/features/products/components/ProductFormModal';
import { RestoreButton } from '@/features/products/components/RestoreButton';
import { ApiError } from '@/lib/api';
import { useI18n } from '@/lib/i18n/i18n';
import { formatDateTime } from '@/lib/i18n/format';
import { DEFAULT_PAGE_SIZE } from '@/lib/search-params';
import { OperationLauncher } from '../OperationLauncher';

export default function ProductPage() {
  const { id = '' } = useParams();
  const { t, lang } = useI18n();
  const navigate = useNavigate();
  const product = useProduct(id);
  const remove = useDeleteProduct();
  const isAdmin = useIsAdmin();
  const [paging, setPaging] = useState({ page: 1, page_size: DEFAULT_PAGE_SIZE });
  const movements = useMovements({ ...paging, product_id: id });
  const [editing, setEditing] = useState(false);
  const [operating, setOperating] = useState(false);

  if (product.isPending) return <Spin size="large" />;
  if (product.error !== null) {
    if (product.error instanceof ApiError && product.error.status === 404) {
      return (
        <Result status="404" title={t('product.notFound')} extra={<Link to="/products">{t('nav.products')}</Link>} />
      );
    }
    return <QueryError error={product.error} onRetry={() => void product.refetch()} />;
  }
  const p = product.data;
  const dash = (value: string | number | null | undefined) => value ?? '-';

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Card
        title={`${t('product.title')} ${p.barcode}`}
        extra={
          <Space wrap>
            <Button type="primary" icon={<SwapOutlined />} onClick={() => setOperating(true)}>
              {t('operation.title')}
            </Button>
            <Button icon={<EditOutlined />} onClick={() => setEditing(true)}>
              {t('common.edit')}
            </Button>
            {isAdmin && (
              <DeleteButton
                onConfirm={async () => {
                  await remove.mutateAsync(p.id);
                  void navigate('/products');
                }}
                testId="product-delete"
                afterDelete={(close) => <RestoreButton id={p.id} onRestored={close} />}
              />
            )}
          </Space>
        }
      >
        <Descriptions bordered size="small" column={{ xs: 1, sm: 2, lg: 3 }}>
          <Descriptions.Item label={t('product.barcode')}>{p.barcode}</Descriptions.Item>
          <Descriptions.Item label="GTIN">{dash(p.gtin)}</Descriptions.Item>
          <Descriptions.Item label={t('product.seller_sku')}>{dash(p.seller_sku)}</Descriptions.Item>
          <Descriptions.Item label={t('product.brand')}>{dash(p.brand)}</Descriptions.Item>
          <Descriptions.Item label={t('product.size')}>{dash(p.size)}</Descriptions.Item>
          <Descriptions.Item label={t('product.color')}>{dash(p.color)}</Descriptions.Item>
          <Descriptions.Item label={t('common.stock')}>
            <span data-testid="product-stock">{dash(p.stock_quantity)}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('common.defect')}>
            <span data-testid="product-defect">{dash(p.defect_quantity)}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('product.updated')}>{formatDateTime(p.updated_at, lang)}</Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={t('nav.journal')}>
        <MovementsTable query={movements} onPageChange={(page, page_size) => setPaging({ page, page_size })} hideProduct />
      </Card>
      <ProductFormModal open={editing} product={p} onClose={() => setEditing(false)} />
      <OperationLauncher open={operating} onClose={() => setOperating(false)} product={p} />
    </Space>
  );
}
