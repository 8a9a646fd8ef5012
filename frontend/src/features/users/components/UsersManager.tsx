// Users (admin only): table with role and status, create, edit (role, active,
// optional new password). A deactivated user's session ends at their next
// request (the server refuses it).

import { Form, Input, Select, Switch, Tag } from 'antd';
import { EntityManager } from '@/components/EntityManager';
import { TAG } from '@/lib/colors';
import { emailRules } from '@/lib/form-rules';
import { useI18n } from '@/lib/i18n/i18n';
import { formatDateTime } from '@/lib/i18n/format';
import type { Role, User, UserUpdate } from '@/types/api';
import { usersApi } from '../api/users';

interface Values {
  email: string;
  password?: string;
  role: Role;
  is_active: boolean;
}

const MIN_PASSWORD = 8;

/** The update body: role, active flag, and the password only when one was typed. */
export function toUserUpdate(values: Values): UserUpdate {
  const password = values.password?.trim() ? values.password : undefined;
  return { role: values.role, is_active: values.is_active, ...(password === undefined ? {} : { password }) };
}

export function UsersManager() {
  const { t, lang } = useI18n();
  const list = usersApi.useList();
  const save = usersApi.useSave();
  const roleOptions = (['admin', 'operator'] as const).map((role) => ({ value: role, label: t(`user.role.${role}`) }));

  return (
    <EntityManager<User, Values>
      title={t('nav.users')}
      createTitle={t('user.create')}
      editTitle={t('user.edit')}
      list={list}
      testId="user"
      rowName={(user) => user.email}
      columns={[
        { title: t('login.email'), dataIndex: 'email' },
        { title: t('user.role'), dataIndex: 'role', render: (role: Role) => t(`user.role.${role}`) },
        {
          title: t('user.status'),
          dataIndex: 'is_active',
          render: (active: boolean) =>
            active ? <Tag color={TAG.green}>{t('user.active')}</Tag> : <Tag color={TAG.grey}>{t('user.inactive')}</Tag>,
        },
        { title: t('user.created'), dataIndex: 'created_at', render: (iso: string) => formatDateTime(iso, lang) },
      ]}
      initialValues={(user) =>
        user === null ? { role: 'operator', is_active: true } : { email: user.email, role: user.role, is_active: user.is_active }
      }
      onSave={(user, values) =>
        save.mutateAsync(
          user === null
            ? { id: null, input: { email: values.email.trim(), password: values.password ?? '', role: values.role } }
            : { id: user.id, input: toUserUpdate(values) },
        )
      }
      form={(user) => (
        <>
          <Form.Item name="email" label={t('login.email')} rules={emailRules(t)}>
            <Input disabled={user !== null} autoComplete="off" />
          </Form.Item>
          <Form.Item
            name="password"
            label={user !== null ? t('user.newPassword') : t('login.password')}
            rules={[
              { required: user === null, message: t('login.passwordRequired') },
              { min: MIN_PASSWORD, message: t('user.passwordMin', { n: MIN_PASSWORD }) },
            ]}
          >
            <Input.Password autoComplete="new-password" />
          </Form.Item>
          <Form.Item name="role" label={t('user.role')} rules={[{ required: true, message: t('common.required') }]}>
            <Select options={roleOptions} />
          </Form.Item>
          {user !== null && (
            <Form.Item name="is_active" label={t('user.active')} valuePropName="checked">
              <Switch />
            </Form.Item>
          )}
        </>
      )}
    />
  );
}
