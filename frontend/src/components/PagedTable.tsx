// A table over one page of a server-paged list (`Page<T>` of the contract):
// the query's error with a retry, the loading state (also while the next page
// replaces the previous one), and the pager with sizes and the total. Lists
// differ only in their columns.

import type { UseQueryResult } from '@tanstack/react-query';
import { Table, type TableColumnsType } from 'antd';
import { QueryError } from './QueryError';
import { useI18n } from '@/lib/i18n/i18n';
import { DEFAULT_PAGE_SIZE, PAGE_SIZES } from '@/lib/search-params';
import type { Page } from '@/types/api';

export interface PagedTableProps<T> {
  query: UseQueryResult<Page<T>>;
  columns: TableColumnsType<T>;
  onPageChange: (page: number, pageSize: number) => void;
  testId: string;
  /** Horizontal scroll width below which columns stop shrinking. */
  minWidth?: number;
}

export function PagedTable<T extends { id: string }>({ query, columns, onPageChange, testId, minWidth = 900 }: PagedTableProps<T>) {
  const { t } = useI18n();
  const { data } = query;
  return (
    <>
      {query.error !== null && <QueryError error={query.error} onRetry={() => void query.refetch()} />}
      <Table<T>
        rowKey="id"
        size="middle"
        loading={query.isPending || query.isPlaceholderData}
        dataSource={data?.items}
        scroll={{ x: minWidth }}
        data-testid={testId}
        pagination={{
          current: data?.page ?? 1,
          pageSize: data?.page_size ?? DEFAULT_PAGE_SIZE,
          total: data?.total ?? 0,
          showSizeChanger: true,
          pageSizeOptions: PAGE_SIZES,
          showTotal: (total) => t('common.totalRecords', { n: total }),
          onChange: onPageChange,
        }}
        columns={columns}
      />
    </>
  );
}
