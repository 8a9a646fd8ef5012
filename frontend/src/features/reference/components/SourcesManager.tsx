// Sources: table, create/edit dialog, delete.

import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Card, Form, Input, Space, Table } from 'antd';
import { useState } from 'react';
import { DeleteButton } from '@/components/DeleteButton';
import { FormModal } from '@/components/FormModal';
import { QueryError } from '@/components/QueryError';
import { useI18n } from '@/lib/i18n/i18n';
import type { Source } from '@/types/api';
import { useDeleteSource, useSaveSource, useSources } from '../api/sources';

interface Values {
  name: string;
  description?: string;
}

export function SourcesManager({ canDelete }: { canDelete: boolean }) {
  const { t } = useI18n();
  const { data, isPending, error, refetch } = useSources();
  const save = useSaveSource();
  const remove = useDeleteSource();
  const [editing, setEditing] = useState<Source | null | undefined>(undefined);

  return (
    <Card
      title={t('nav.sources')}
      extra={
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid="source-add">
          {t('common.add')}
        </Button>
      }
    >
      {error !== null && <QueryError error={error} onRetry={() => void refetch()} />}
      <Table<Source>
        rowKey="id"
        loading={isPending}
        dataSource={data}
        pagination={false}
        columns={[
          { title: t('source.name'), dataIndex: 'name' },
          { title: t('source.description'), dataIndex: 'description', render: (v: string | null) => v ?? '-' },
          {
            key: 'actions',
            width: 220,
            render: (_, source) => (
              <Space>
                <Button size="small" icon={<EditOutlined />} onClick={() => setEditing(source)}>
                  {t('common.edit')}
                </Button>
                {canDelete && <DeleteButton onConfirm={() => remove.mutateAsync(source.id)} />}
              </Space>
            ),
          },
        ]}
      />
      <FormModal<Values>
        open={editing !== undefined}
        title={editing === null ? t('source.create') : t('source.edit')}
        initialValues={editing ? { name: editing.name, description: editing.description ?? undefined } : undefined}
        onClose={() => setEditing(undefined)}
        onSubmit={(values) =>
          save.mutateAsync({
            id: editing?.id ?? null,
            input: { name: values.name.trim(), description: values.description?.trim() || null },
          })
        }
        testId="source-form"
      >
        <Form.Item
          name="name"
          label={t('source.name')}
          rules={[
            { required: true, whitespace: true, message: t('common.required') },
            { max: 255, message: t('common.maxLength', { n: 255 }) },
          ]}
        >
          <Input />
        </Form.Item>
        <Form.Item name="description" label={t('source.description')}>
          <Input.TextArea rows={3} />
        </Form.Item>
      </FormModal>
    </Card>
  );
}
