// Excel import: pick or drop a workbook, upload it, then show the counters and
// every row error the server reported.

import { InboxOutlined } from '@ant-design/icons';
import { Alert, Card, Descriptions, Table, Typography, Upload } from 'antd';
import { errorText, useI18n } from '@/lib/i18n/i18n';
import type { ImportRowError } from '@/types/api';
import { useImportExcel } from '../api/import-excel';

const ACCEPT = '.xlsx,.xls';

export function ImportPanel() {
  const { t } = useI18n();
  const upload = useImportExcel();
  const response = upload.data;

  return (
    <Card title={t('nav.import')}>
      <Typography.Paragraph type="secondary">{t('import.help')}</Typography.Paragraph>
      <Upload.Dragger
        accept={ACCEPT}
        multiple={false}
        showUploadList={false}
        disabled={upload.isPending}
        customRequest={({ file }) => {
          if (file instanceof File) upload.mutate(file);
        }}
        data-testid="import-upload"
      >
        <p className="ant-upload-drag-icon">
          <InboxOutlined />
        </p>
        <p className="ant-upload-text">{upload.isPending ? t('import.uploading') : t('import.drop')}</p>
        <p className="ant-upload-hint">{ACCEPT}</p>
      </Upload.Dragger>

      {upload.isError && (
        <Alert type="error" showIcon title={errorText(upload.error, t)} style={{ marginTop: 16 }} data-testid="import-error" />
      )}

      {response !== undefined && !upload.isPending && (
        <div style={{ marginTop: 16 }} data-testid="import-result">
          <Alert
            type={response.result.success ? 'success' : 'error'}
            showIcon
            title={response.result.success ? t('import.success') : t('import.failed')}
            style={{ marginBottom: 16 }}
          />
          <Descriptions bordered size="small" column={{ xs: 1, sm: 2, md: 4 }}>
            <Descriptions.Item label={t('import.totalRows')}>{response.result.total_rows}</Descriptions.Item>
            <Descriptions.Item label={t('import.created')}>{response.result.created}</Descriptions.Item>
            <Descriptions.Item label={t('import.updated')}>{response.result.updated}</Descriptions.Item>
            <Descriptions.Item label={t('import.duration')}>{response.duration_seconds} s</Descriptions.Item>
          </Descriptions>
          {response.result.errors.length > 0 && (
            <Table<ImportRowError>
              style={{ marginTop: 16 }}
              size="small"
              rowKey={(e) => `${e.row_number}:${e.field}:${e.message}`}
              dataSource={response.result.errors}
              pagination={{ pageSize: 50, hideOnSinglePage: true }}
              data-testid="import-errors"
              columns={[
                { title: t('import.row'), dataIndex: 'row_number', width: 90 },
                { title: t('import.field'), dataIndex: 'field', width: 160 },
                { title: t('import.message'), dataIndex: 'message' },
              ]}
            />
          )}
        </div>
      )}
    </Card>
  );
}
