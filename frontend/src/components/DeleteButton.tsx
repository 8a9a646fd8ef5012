// A delete button behind a confirmation. A refusal (e.g. 409 "referenced by
// stock movements") is shown with the server's own message.

import { DeleteOutlined } from '@ant-design/icons';
import { App, Button, Popconfirm } from 'antd';
import { errorText, useI18n } from '@/lib/i18n/i18n';

export function DeleteButton({ onConfirm, testId }: { onConfirm: () => Promise<unknown>; testId?: string }) {
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
          void message.success(t('common.deleted'));
        } catch (error) {
          void message.error({ content: errorText(error, t), duration: 8 });
        }
      }}
    >
      <Button danger size="small" icon={<DeleteOutlined />} data-testid={testId}>
        {t('common.delete')}
      </Button>
    </Popconfirm>
  );
}
