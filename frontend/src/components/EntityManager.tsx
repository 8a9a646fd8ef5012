// A card that manages one small collection: the table, an "Add" button, an
// edit button per row (and a delete button when allowed), and one create/edit
// dialog. Sources, distribution centres and users are all this shape; what
// differs (columns, form fields, how values become a request) is passed in.

import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import type { UseQueryResult } from '@tanstack/react-query';
import { Button, Card, Space, Table, type TableColumnsType } from 'antd';
import { useState, type ReactNode } from 'react';
import { DeleteButton } from './DeleteButton';
import { FormModal } from './FormModal';
import { QueryError } from './QueryError';
import { useI18n } from '@/lib/i18n/i18n';

export interface EntityManagerProps<T extends { id: string }, Values extends object> {
  title: string;
  createTitle: string;
  editTitle: string;
  list: UseQueryResult<T[]>;
  columns: TableColumnsType<T>;
  /** The dialog's starting values: from the row being edited, or for a new one (null). */
  initialValues: (item: T | null) => Partial<Values> | undefined;
  /** Rejects with the API's error to keep the dialog open. */
  onSave: (item: T | null, values: Values) => Promise<unknown>;
  /** Present only when the user may delete. */
  onDelete?: (item: T) => Promise<unknown>;
  /** The dialog's form items, for a row being edited or a new one (null). */
  form: (item: T | null) => ReactNode;
  /** Prefix of the test ids: `${testId}-add`, `${testId}-form`, `${testId}-edit-<id>`. */
  testId: string;
  /** Accessible name of a row in its buttons ("Edit Kazan WB"). */
  rowName: (item: T) => string;
}

export function EntityManager<T extends { id: string }, Values extends object>({
  title,
  createTitle,
  editTitle,
  list,
  columns,
  initialValues,
  onSave,
  onDelete,
  form,
  testId,
  rowName,
}: EntityManagerProps<T, Values>) {
  const { t } = useI18n();
  // undefined: dialog closed; null: creating; a row: editing it.
  const [editing, setEditing] = useState<T | null | undefined>(undefined);
  const current = editing ?? null;

  return (
    <Card
      title={title}
      extra={
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid={`${testId}-add`}>
          {t('common.add')}
        </Button>
      }
    >
      {list.error !== null && <QueryError error={list.error} onRetry={() => void list.refetch()} />}
      <Table<T>
        rowKey="id"
        loading={list.isPending}
        dataSource={list.data}
        pagination={false}
        scroll={{ x: 'max-content' }}
        data-testid={`${testId}-table`}
        columns={[
          ...columns,
          {
            key: 'actions',
            title: t('common.actions'),
            width: 220,
            render: (_: unknown, item: T) => (
              <Space>
                <Button
                  size="small"
                  icon={<EditOutlined />}
                  onClick={() => setEditing(item)}
                  aria-label={`${t('common.edit')}: ${rowName(item)}`}
                  data-testid={`${testId}-edit`}
                >
                  {t('common.edit')}
                </Button>
                {onDelete !== undefined && (
                  <DeleteButton
                    onConfirm={() => onDelete(item)}
                    label={`${t('common.delete')}: ${rowName(item)}`}
                    testId={`${testId}-delete`}
                  />
                )}
              </Space>
            ),
          },
        ]}
      />
      <FormModal<Values>
        open={editing !== undefined}
        title={current === null ? createTitle : editTitle}
        initialValues={initialValues(current)}
        onClose={() => setEditing(undefined)}
        onSubmit={(values) => onSave(current, values)}
        testId={`${testId}-form`}
      >
        {form(current)}
      </FormModal>
    </Card>
  );
}
