// Users (admin only): table with role and status, create, edit (role, active,
// optional new password).

import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Card, Form, Input, Select, Switch, Table, Tag } from 'antd';
import { useState } from 'react';
import { FormModal } from '@/components/FormModal';
import { QueryError } from '@/components/QueryError';
import { useI18n } from '@/lib/i18n/i18n';
import { formatDateTime } from '@/lib/i18n/format';
import type { Role, User } from '@/types/api';
import { useCreateUser, useUpdateUser, useUsers } from '../api/users';

interface Values {
  email: string;
  password?: string;
  role: Role;
  is_active: boolean;
}

const MIN_PASSWORD = 8;

export function UsersManager() {
  const { t, lang } = useI18n();
  const { data, isPending, error, refetch } = useUsers();
  const create = useCreateUser();
  const update = useUpdateUser();
  const [editing, setEditing] = useState<User | null | undefined>(undefined);
  const roleOptions = (['admin', 'operator'] as const).map((role) => ({ value: role, label: t(`user.role.${role}`) }));

  async function save(values: Values) {
    const password = values.password?.trim() ? values.password : undefined;
    if (editing === null || editing === undefined) {
      await create.mutateAsync({ email: values.email.trim(), password: password ?? '', role: values.role });
    } else {
      await update.mutateAsync({
        id: editing.id,
        input: { role: values.role, is_active: values.is_active, ...(password === undefined ? {} : { password }) },
      });
    }
  }

  return (
    <Card
      title={t('nav.users')}
      extra={
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid="user-add">
          {t('common.add')}
        </Button>
      }
    >
      {error !== null && <QueryError error={error} onRetry={() => void refetch()} />}
      <Table<User>
        rowKey="id"
        loading={isPending}
        dataSource={data}
        pagination={false}
        columns={[
          { title: t('login.email'), dataIndex: 'email' },
          { title: t('user.role'), dataIndex: 'role', render: (role: Role) => t(`user.role.${role}`) },
          {
            title: t('user.status'),
            dataIndex: 'is_active',
            render: (active: boolean) =>
              active ? <Tag color="green">{t('user.active')}</Tag> : <Tag>{t('user.inactive')}</Tag>,
          },
          { title: t('user.created'), dataIndex: 'created_at', render: (iso: string) => formatDateTime(iso, lang) },
          {
            key: 'actions',
            width: 140,
            render: (_, user) => (
              <Button size="small" icon={<EditOutlined />} onClick={() => setEditing(user)}>
                {t('common.edit')}
              </Button>
            ),
          },
        ]}
      />
      <FormModal<Values>
        open={editing !== undefined}
        title={editing ? t('user.edit') : t('user.create')}
        initialValues={editing ? { email: editing.email, role: editing.role, is_active: editing.is_active } : { role: 'operator', is_active: true }}
        onClose={() => setEditing(undefined)}
        onSubmit={save}
        testId="user-form"
      >
        <Form.Item
          name="email"
          label={t('login.email')}
          rules={[
            { required: true, message: t('login.emailRequired') },
            { type: 'email', message: t('login.emailInvalid') },
          ]}
        >
          <Input disabled={Boolean(editing)} autoComplete="off" />
        </Form.Item>
        <Form.Item
          name="password"
          label={editing ? t('user.newPassword') : t('login.password')}
          rules={[
            { required: !editing, message: t('login.passwordRequired') },
            { min: MIN_PASSWORD, message: t('user.passwordMin', { n: MIN_PASSWORD }) },
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item name="role" label={t('user.role')} rules={[{ required: true, message: t('common.required') }]}>
          <Select options={roleOptions} />
        </Form.Item>
        {editing && (
          <Form.Item name="is_active" label={t('user.active')} valuePropName="checked">
            <Switch />
          </Form.Item>
        )}
      </FormModal>
    </Card>
  );
}
