// The journal table: date, coloured type, product, signed quantity, source,
// DC, user and notes, with server-side pagination.

import type { UseQueryResult } from '@tanstack/react-query';
import { Typography, type TableColumnsType } from 'antd';
import { OperationTag } from '@/components/OperationTag';
import { PagedTable } from '@/components/PagedTable';
import { useI18n } from '@/lib/i18n/i18n';
import { formatDateTime } from '@/lib/i18n/format';
import { isLedgerType, type Movement, type Page } from '@/types/api';

export interface MovementsTableProps {
  query: UseQueryResult<Page<Movement>>;
  onPageChange: (page: number, pageSize: number) => void;
  /** Hide the product column (the table sits on that product's page). */
  hideProduct?: boolean;
}

/** Ledger-only types (import, stocktake) carry signed quantities; show the sign of a gain too. */
function signedQuantity(n: number, m: Movement) {
  return isLedgerType(m.operation_type) && n > 0 ? `+${n}` : n;
}

export function MovementsTable({ query, onPageChange, hideProduct = false }: MovementsTableProps) {
  const { t, lang } = useI18n();
  const dash = (value: string | null | undefined) => value ?? '-';
  const product: TableColumnsType<Movement> = hideProduct
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
      ];
  return (
    <PagedTable<Movement>
      query={query}
      onPageChange={onPageChange}
      testId="movements-table"
      columns={[
        { title: t('journal.date'), dataIndex: 'created_at', width: 150, render: (iso: string) => formatDateTime(iso, lang) },
        { title: t('journal.type'), dataIndex: 'operation_type', render: (type: string) => <OperationTag type={type} /> },
        ...product,
        { title: t('journal.quantity'), dataIndex: 'quantity', align: 'right', render: signedQuantity },
        { title: t('journal.source'), dataIndex: 'source_name', render: dash },
        { title: t('journal.dc'), dataIndex: 'dc_name', render: dash },
        { title: t('journal.user'), dataIndex: 'user_email', render: dash },
        { title: t('journal.notes'), dataIndex: 'notes', render: dash, ellipsis: true },
      ]}
    />
  );
}
