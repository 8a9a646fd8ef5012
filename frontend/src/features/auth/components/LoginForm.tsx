// The sign-in card. Errors stay visible until the next attempt: the server's
// message for a rejected login, and why the previous session ended.

import { LockOutlined, MailOutlined } from '@ant-design/icons';
import { Alert, Button, Form, Input } from 'antd';
import { emailRules } from '@/lib/form-rules';
import { errorText, useI18n } from '@/lib/i18n/i18n';
import { useLogin } from '../api/login';
import { useSession } from '../use-session';

interface Values {
  email: string;
  password: string;
}

export function LoginForm({ onSignedIn }: { onSignedIn: () => void }) {
  const { t } = useI18n();
  const login = useLogin();
  const { signOutReason } = useSession();

  const notice =
    signOutReason === 'expired'
      ? t('login.expired')
      : signOutReason === 'unauthorized'
        ? t('login.unauthorized')
        : null;

  return (
    <Form<Values>
      name="login"
      layout="vertical"
      requiredMark={false}
      onFinish={(values) => login.mutate(values, { onSuccess: onSignedIn })}
      disabled={login.isPending}
    >
      {login.isError ? (
        <Alert type="error" showIcon title={errorText(login.error, t)} style={{ marginBottom: 16 }} data-testid="login-error" />
      ) : notice !== null ? (
        <Alert type="warning" showIcon title={notice} style={{ marginBottom: 16 }} />
      ) : null}
      <Form.Item
        name="email"
        label={t('login.email')}
        rules={emailRules(t)}
      >
        <Input prefix={<MailOutlined />} autoComplete="username" autoFocus />
      </Form.Item>
      <Form.Item name="password" label={t('login.password')} rules={[{ required: true, message: t('login.passwordRequired') }]}>
        <Input.Password prefix={<LockOutlined />} autoComplete="current-password" />
      </Form.Item>
      <Button type="primary" htmlType="submit" block loading={login.isPending} data-testid="login-submit">
        {t('login.submit')}
      </Button>
    </Form>
  );
}
