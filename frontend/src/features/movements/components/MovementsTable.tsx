// The journal table: date, coloured type, product, signed quantity, source,
// DC, user and notes, with server-side pagination.

import { Table, Typography } from 'antd';
import { OperationTag } from '@/components/OperationTag';
import { useI18n } from '@/lib/i18n/i18n';
import { DEFAULT_PAGE_SIZE, PAGE_SIZES } from '@/lib/search-params';
import { formatDateTime } from '@/lib/i18n/format';
import type { Movement, Page } from '@/types/api';

export interface MovementsTableProps {
  data: Page<Movement> | undefined;
  loading: boolean;
  onPageChange: (page: number, pageSize: number) => void;
  /** Hide the product column (the table sits on that product's page). */
  hideProduct?: boolean;
}

export function MovementsTable({ data, loading, onPageChange, hideProduct = false }: MovementsTableProps) {
  const { t, lang } = useI18n();
  const dash = (value: string | null | undefined) => value ?? '-';
  return (
    <Table<Movement>
      rowKey="id"
      size="middle"
      loading={loading}
      dataSource={data?.items}
      scroll={{ x: 900 }}
      data-testid="movements-table"
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
          title: t('journal.date'),
          dataIndex: 'created_at',
          width: 150,
          render: (iso: string) => formatDateTime(iso, lang),
        },
        {
          title: t('journal.type'),
          dataIndex: 'operation_type',
          render: (type: string) => <OperationTag type={type} />,
        },
        ...(hideProduct
          ? []
          : [
              {
                title: t('journal.product'),
                key: 'product',
                render: (_: unknown, m: Movement) => (
                  <>
                    <div>{m.product_barcode ?? `ID: ${m.product_id}`}</div>
                    {(m.product_brand ?? m.product_seller_sku) != null && (
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        {[m.product_seller_sku, m.product_brand, m.product_size].filter((v) => v != null).join(' · ')}
                      </Typography.Text>
                    )}
                  </>
                ),
              },
            ]),
        {
          title: t('journal.quantity'),
          dataIndex: 'quantity',
          align: 'right',
          render: (n: number, m: Movement) => (m.operation_type.startsWith('import_') && n > 0 ? `+${n}` : n),
        },
        { title: t('journal.source'), dataIndex: 'source_name', render: dash },
        { title: t('journal.dc'), dataIndex: 'dc_name', render: dash },
        { title: t('journal.user'), dataIndex: 'user_email', render: dash },
        { title: t('journal.notes'), dataIndex: 'notes', render: dash, ellipsis: true },
      ]}
    />
  );
}
