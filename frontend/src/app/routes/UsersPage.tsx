// /users: admins only; others see a 403 page (the server refuses them anyway).

import { Result, Spin } from 'antd';
import { useMe } from '@/features/auth/api/me';
import { UsersManager } from '@/features/users/components/UsersManager';
import { useI18n } from '@/lib/i18n/i18n';

export default function UsersPage() {
  const { t } = useI18n();
  const { data: me, isPending } = useMe();
  if (isPending) return <Spin />;
  if (me?.role === 'operator') return <Result status="403" title="403" subTitle={t('users.adminOnly')} />;
  return <UsersManager />;
}
