// Brings a soft-deleted product back (admins): offered right after a delete,
// since deleted products are listed nowhere else.

import { UndoOutlined } from '@ant-design/icons';
import { App, Button } from 'antd';
import { errorText, useI18n } from '@/lib/i18n/i18n';
import type { Uuid } from '@/types/api';
import { useRestoreProduct } from '../api/save-product';

export function RestoreButton({ id, onRestored }: { id: Uuid; onRestored?: () => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const restore = useRestoreProduct();
  return (
    <Button
      size="small"
      type="link"
      icon={<UndoOutlined />}
      loading={restore.isPending}
      data-testid="product-restore"
      onClick={async () => {
        try {
          await restore.mutateAsync(id);
          onRestored?.();
          void message.success({ content: <span data-testid="product-restored">{t('product.restored')}</span> });
        } catch (error) {
          void message.error({ content: errorText(error, t), duration: 8 });
        }
      }}
    >
      {t('product.restore')}
    </Button>
  );
}
