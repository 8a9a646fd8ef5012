// Change one's own password: current password, new password twice.

import { App, Form, Input } from 'antd';
import { FormModal } from '@/components/FormModal';
import { useI18n } from '@/lib/i18n/i18n';
import { useChangePassword, type PasswordChange } from '../api/change-password';

/** Matches the server's minimum (issue 5). */
export const PASSWORD_MIN = 8;

interface Values extends PasswordChange {
  repeat: string;
}

export function ChangePasswordModal({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const change = useChangePassword();
  return (
    <FormModal<Values>
      open={open}
      title={t('password.title')}
      onClose={onClose}
      onSubmit={async ({ current_password, new_password }) => {
        await change.mutateAsync({ current_password, new_password });
        void message.success(t('password.changed'));
      }}
    >
      <Form.Item name="current_password" label={t('password.current')} rules={[{ required: true, message: t('common.required') }]}>
        <Input.Password autoComplete="current-password" />
      </Form.Item>
      <Form.Item
        name="new_password"
        label={t('password.new')}
        rules={[
          { required: true, message: t('common.required') },
          { min: PASSWORD_MIN, message: t('user.passwordMin', { n: PASSWORD_MIN }) },
        ]}
      >
        <Input.Password autoComplete="new-password" />
      </Form.Item>
      <Form.Item
        name="repeat"
        label={t('password.repeat')}
        dependencies={['new_password']}
        rules={[
          { required: true, message: t('common.required') },
          ({ getFieldValue }) => ({
            validator: (_, value: unknown) =>
              value === getFieldValue('new_password') ? Promise.resolve() : Promise.reject(new Error(t('password.mismatch'))),
          }),
        ]}
      >
        <Input.Password autoComplete="new-password" />
      </Form.Item>
    </FormModal>
  );
}
