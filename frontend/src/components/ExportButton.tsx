// Downloads a CSV export (with the session's token) and saves it.

import { DownloadOutlined } from '@ant-design/icons';
import { App, Button } from 'antd';
import { useState } from 'react';
import type { Download } from '@/lib/api';
import { errorText, useI18n } from '@/lib/i18n/i18n';
import { saveDownload } from '@/lib/save-download';

export interface ExportButtonProps {
  onExport: () => Promise<Download>;
  fallbackName: string;
  testId?: string;
}

export function ExportButton({ onExport, fallbackName, testId }: ExportButtonProps) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [busy, setBusy] = useState(false);
  return (
    <Button
      icon={<DownloadOutlined />}
      loading={busy}
      data-testid={testId}
      onClick={async () => {
        setBusy(true);
        try {
          saveDownload(await onExport(), fallbackName);
        } catch (error) {
          void message.error(errorText(error, t));
        } finally {
          setBusy(false);
        }
      }}
    >
      {t('common.exportCsv')}
    </Button>
  );
}
