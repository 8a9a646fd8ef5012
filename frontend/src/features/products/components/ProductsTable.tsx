// Products with balances, server-side pagination. Defect balances above zero
// are red; the barcode links to the product's page.

import { Table } from 'antd';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { useI18n } from '@/lib/i18n/i18n';
import { DEFAULT_PAGE_SIZE, PAGE_SIZES } from '@/lib/search-params';
import type { Page, ProductWithStock } from '@/types/api';

export interface ProductsTableProps {
  data: Page<ProductWithStock> | undefined;
  loading: boolean;
  onPageChange: (page: number, pageSize: number) => void;
  actions?: (product: ProductWithStock) => ReactNode;
}

export function ProductsTable({ data, loading, onPageChange, actions }: ProductsTableProps) {
  const { t } = useI18n();
  const dash = (value: string | null) => value ?? '-';
  return (
    <Table<ProductWithStock>
      rowKey="id"
      size="middle"
      loading={loading}
      dataSource={data?.items}
      scroll={{ x: 900 }}
      data-testid="products-table"
      pagination={{
        current: data?.page ?? 1,
        pageSize: data?.page_size ?? DEFAULT_PAGE_SIZE,
        total: data?.total ?? 0,
        showSizeChanger: true,
        pageSizeOptions: PAGE_SIZES,
        showTotal: (total) => t('common.totalRecords', { n: total }),
        onChange: onPageChange,
      }}
      columns={[
        {
          title: t('product.barcode'),
          dataIndex: 'barcode',
          render: (barcode: string, p) => <Link to={`/products/${p.id}`}>{barcode}</Link>,
        },
        { title: 'GTIN', dataIndex: 'gtin', render: dash },
        { title: t('product.seller_sku'), dataIndex: 'seller_sku', render: dash },
        { title: t('product.brand'), dataIndex: 'brand', render: dash },
        { title: t('product.size'), dataIndex: 'size', render: dash },
        { title: t('common.stock'), dataIndex: 'stock_quantity', align: 'right' },
        {
          title: t('common.defect'),
          dataIndex: 'defect_quantity',
          align: 'right',
          render: (n: number) => <span style={n > 0 ? { color: '#cf1322' } : undefined}>{n}</span>,
        },
        ...(actions === undefined ? [] : [{ key: 'actions', render: (_: unknown, p: ProductWithStock) => actions(p) }]),
      ]}
    />
  );
}
