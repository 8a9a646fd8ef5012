// /status: the supervisor's health. Public, so it also works for someone who
// cannot sign in because the stack is down; inside the frame when signed in.

import { Flex } from 'antd';
import { Link } from 'react-router';
import { LanguageSwitch } from '@/components/LanguageSwitch';
import { useSession } from '@/features/auth/use-session';
import { SystemStatus } from '@/features/system/components/SystemStatus';
import { useI18n } from '@/lib/i18n/i18n';
import AppLayout from '../layout/AppLayout';

export default function StatusPage() {
  const { token } = useSession();
  const { t } = useI18n();
  if (token !== null) {
    return (
      <AppLayout>
        <SystemStatus />
      </AppLayout>
    );
  }
  return (
    <div style={{ padding: 24, minHeight: '100vh', background: '#f0f2f5' }}>
      <Flex justify="space-between" align="center" style={{ marginBottom: 16 }}>
        <Link to="/login">{t('login.title')}</Link>
        <LanguageSwitch />
      </Flex>
      <SystemStatus />
    </div>
  );
}
