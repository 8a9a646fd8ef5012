// Any unknown path.

import { Button, Result } from 'antd';
import { Link } from 'react-router';
import { useI18n } from '@/lib/i18n/i18n';

export default function NotFoundPage() {
  const { t } = useI18n();
  return (
    <Result
      status="404"
      title="404"
      subTitle={t('notFound.title')}
      extra={
        <Link to="/">
          <Button type="primary">{t('notFound.home')}</Button>
        </Link>
      }
    />
  );
}
