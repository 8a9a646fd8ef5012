// A delete button behind a confirmation. A refusal (e.g. 409 "referenced by
// stock movements") is shown with the server's own message; a success may
// offer an action next to its message (e.g. "Restore" for a soft delete).

import { DeleteOutlined } from '@ant-design/icons';
import { App, Button, Popconfirm } from 'antd';
import type { ReactNode } from 'react';
import { errorText, useI18n } from '@/lib/i18n/i18n';

export interface DeleteButtonProps {
  onConfirm: () => Promise<unknown>;
  testId?: string;
  /** Accessible name when several delete buttons share a screen ("Delete: Kazan WB"). */
  label?: string;
  /** Shown with the success message, e.g. an undo button. */
  afterDelete?: (close: () => void) => ReactNode;
}

export function DeleteButton({ onConfirm, testId, label, afterDelete }: DeleteButtonProps) {
  const { t } = useI18n();
  const { message } = App.useApp();
  return (
    <Popconfirm
      title={t('common.deleteConfirm')}
      okText={t('common.delete')}
      okButtonProps={{ danger: true }}
      cancelText={t('common.cancel')}
      onConfirm={async () => {
        try {
          await onConfirm();
          const key = `deleted-${Date.now()}`;
          const close = () => message.destroy(key);
          void message.success({
            key,
            content: (
              <span data-testid="deleted-message">
                {t('common.deleted')} {afterDelete?.(close)}
              </span>
            ),
            duration: afterDelete === undefined ? 3 : 8,
          });
        } catch (error) {
          void message.error({ content: errorText(error, t), duration: 8 });
        }
      }}
    >
      <Button danger size="small" icon={<DeleteOutlined />} data-testid={testId} aria-label={label}>
        {t('common.delete')}
      </Button>
    </Popconfirm>
  );
}
