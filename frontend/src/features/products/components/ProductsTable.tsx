// Products with balances, server-side pagination, and a search box whose text,
// page and page size live in the URL (F-04): the dashboard and the products
// page show the same list with different row actions. Defect balances above
// zero are red; the barcode links to the product's page.

import { Input } from 'antd';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { PagedTable } from '@/components/PagedTable';
import { useI18n } from '@/lib/i18n/i18n';
import { useUrlState } from '@/lib/search-params';
import type { ProductWithStock } from '@/types/api';
import { useProducts } from '../api/get-products';

/** The search text of the products list, from the URL (`q`). */
export function useProductSearch(): string {
  return useUrlState().get('q') ?? '';
}

export function ProductsTable({ actions }: { actions?: (product: ProductWithStock) => ReactNode }) {
  const { t } = useI18n();
  const url = useUrlState();
  const search = url.get('q') ?? '';
  const products = useProducts({ page: url.page, page_size: url.pageSize, search });
  const dash = (value: string | null) => value ?? '-';
  return (
    <>
      <Input.Search
        key={search}
        defaultValue={search}
        placeholder={t('product.searchHint')}
        aria-label={t('product.searchHint')}
        enterButton={t('common.search')}
        allowClear
        onSearch={(value) => url.update({ q: value.trim(), page: 1 })}
        style={{ maxWidth: 480, marginBottom: 16 }}
        data-testid="product-search"
      />
      <PagedTable<ProductWithStock>
        query={products}
        onPageChange={(page, size) => url.update({ page, size })}
        testId="products-table"
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
          ...(actions === undefined
            ? []
            : [{ key: 'actions', title: t('common.actions'), render: (_: unknown, p: ProductWithStock) => actions(p) }]),
        ]}
      />
    </>
  );
}
