// Distribution centres: table, create/edit dialog, delete.

import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Card, Form, Input, Space, Table } from 'antd';
import { useState } from 'react';
import { DeleteButton } from '@/components/DeleteButton';
import { FormModal } from '@/components/FormModal';
import { QueryError } from '@/components/QueryError';
import { useI18n } from '@/lib/i18n/i18n';
import type { DistributionCenter, DistributionCenterInput } from '@/types/api';
import {
  useDeleteDistributionCenter,
  useDistributionCenters,
  useSaveDistributionCenter,
} from '../api/distribution-centers';

const FIELDS = [
  ['code', 50],
  ['name', 255],
  ['marketplace', 50],
] as const;

export function DistributionCentersManager({ canDelete }: { canDelete: boolean }) {
  const { t } = useI18n();
  const { data, isPending, error, refetch } = useDistributionCenters();
  const save = useSaveDistributionCenter();
  const remove = useDeleteDistributionCenter();
  const [editing, setEditing] = useState<DistributionCenter | null | undefined>(undefined);

  return (
    <Card
      title={t('nav.dcs')}
      extra={
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid="dc-add">
          {t('common.add')}
        </Button>
      }
    >
      {error !== null && <QueryError error={error} onRetry={() => void refetch()} />}
      <Table<DistributionCenter>
        rowKey="id"
        loading={isPending}
        dataSource={data}
        pagination={false}
        columns={[
          ...FIELDS.map(([field]) => ({ title: t(`dc.${field}`), dataIndex: field })),
          {
            key: 'actions',
            width: 220,
            render: (_: unknown, dc: DistributionCenter) => (
              <Space>
                <Button size="small" icon={<EditOutlined />} onClick={() => setEditing(dc)}>
                  {t('common.edit')}
                </Button>
                {canDelete && <DeleteButton onConfirm={() => remove.mutateAsync(dc.id)} />}
              </Space>
            ),
          },
        ]}
      />
      <FormModal<DistributionCenterInput>
        open={editing !== undefined}
        title={editing === null ? t('dc.create') : t('dc.edit')}
        initialValues={editing ?? undefined}
        onClose={() => setEditing(undefined)}
        onSubmit={(values) =>
          save.mutateAsync({
            id: editing?.id ?? null,
            input: { code: values.code.trim(), name: values.name.trim(), marketplace: values.marketplace.trim() },
          })
        }
        testId="dc-form"
      >
        {FIELDS.map(([field, max]) => (
          <Form.Item
            key={field}
            name={field}
            label={t(`dc.${field}`)}
            rules={[
              { required: true, whitespace: true, message: t('common.required') },
              { max, message: t('common.maxLength', { n: max }) },
            ]}
          >
            <Input />
          </Form.Item>
        ))}
      </FormModal>
    </Card>
  );
}
