// A failed load, with the server's message and a retry button.

import { Alert, Button } from 'antd';
import { errorText, useI18n } from '@/lib/i18n/i18n';

export function QueryError({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useI18n();
  return (
    <Alert
      type="error"
      showIcon
      title={errorText(error, t)}
      style={{ marginBottom: 16 }}
      action={
        onRetry === undefined ? undefined : (
          <Button size="small" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        )
      }
    />
  );
}
