// The stack's own dashboard: overall status and, per service in start order,
// its state, pid, uptime, restarts, last exit, last probe error and what it is
// waiting for. Refreshes itself; when /health cannot be read, the last answer
// stays on screen under a warning.

import { Alert, Badge, Card, Descriptions, Space, Table, Tag, Typography } from 'antd';
import { QueryError } from '@/components/QueryError';
import { errorText, useI18n, type Translate } from '@/lib/i18n/i18n';
import { formatDateTime, formatDuration } from '@/lib/i18n/format';
import { TAG } from '@/lib/colors';
import type { BackupHealth, ServiceExit, ServiceHealth, ServiceState, StackStatus } from '@/types/api';
import { HEALTH_REFRESH_MS, useHealth } from '../api/get-health';

const STACK_COLORS: Record<StackStatus, string> = {
  starting: TAG.blue,
  healthy: TAG.green,
  degraded: TAG.red,
  stopping: TAG.orange,
};

const STATE_COLORS: Record<ServiceState, string> = {
  waiting: TAG.grey,
  starting: TAG.blue,
  ready: TAG.green,
  unhealthy: TAG.red,
  stopping: TAG.orange,
  backoff: TAG.orange,
  stopped: TAG.grey,
  exited: TAG.red,
  completed: TAG.cyan,
  failed: TAG.red,
};

const BACKUP_COLORS: Record<BackupHealth['status'], string> = {
  ok: TAG.green,
  failing: TAG.red,
  off: TAG.grey,
};

/** One line on the backups: verdict, newest base backup, archive lag, last drill, problems. */
function BackupSummary({ backup }: { backup: BackupHealth }) {
  const { t, lang } = useI18n();
  const facts: string[] = [];
  if (backup.status !== 'off') {
    facts.push(
      backup.last_base_backup_at
        ? t('status.backup.lastBase', { at: formatDateTime(backup.last_base_backup_at, lang) })
        : t('status.backup.noBase'),
    );
    if (backup.wal_lag_seconds != null) facts.push(t('status.backup.lag', { s: Math.round(backup.wal_lag_seconds) }));
    if (backup.last_drill_ok != null)
      facts.push(t(backup.last_drill_ok ? 'status.backup.drillOk' : 'status.backup.drillFailed'));
  }
  return (
    <Space direction="vertical" size={0}>
      <Space size={4} wrap>
        <Tag color={BACKUP_COLORS[backup.status] ?? TAG.grey} data-testid="backup-status" data-status={backup.status}>
          {t(`status.backup.${backup.status}`)}
        </Tag>
        <Typography.Text type="secondary">{facts.join(' · ')}</Typography.Text>
      </Space>
      {(backup.problems ?? []).map((p) => (
        <Badge key={p} status="error" text={p} />
      ))}
    </Space>
  );
}

interface Row extends ServiceHealth {
  name: string;
}

export function describeExit(exit: ServiceExit, t: Translate): string {
  const how =
    exit.error !== null
      ? exit.error
      : exit.signal !== null
        ? t('status.exitSignal', { signal: exit.signal })
        : t('status.exitCode', { code: exit.code ?? '?' });
  return `${how}, ${t('status.ago', { time: formatDuration(exit.ago_s, t) })}`;
}

export function SystemStatus() {
  const { t } = useI18n();
  const { data, error, dataUpdatedAt, isPending, refetch } = useHealth();
  const rows: Row[] = Object.entries(data?.services ?? {}).map(([name, service]) => ({ name, ...service }));

  return (
    <Card
      title={t('nav.status')}
      extra={
        <Typography.Text type="secondary">
          {t('status.refresh', { s: HEALTH_REFRESH_MS / 1000 })}
          {dataUpdatedAt > 0 && ` · ${new Date(dataUpdatedAt).toLocaleTimeString()}`}
        </Typography.Text>
      }
    >
      {error !== null &&
        (data === undefined ? (
          <QueryError error={error} onRetry={() => void refetch()} />
        ) : (
          <Alert type="warning" showIcon title={`${t('status.stale')}: ${errorText(error, t)}`} style={{ marginBottom: 16 }} />
        ))}
      {data !== undefined && (
        <Descriptions size="small" column={{ xs: 1, sm: 2 }} style={{ marginBottom: 16 }}>
          <Descriptions.Item label={t('status.overall')}>
            <Tag color={STACK_COLORS[data.status] ?? TAG.grey} data-testid="stack-status" data-status={data.status}>
              {t(`status.stack.${data.status}`)}
            </Tag>
          </Descriptions.Item>
          <Descriptions.Item label={t('status.uptime')}>{formatDuration(data.uptime_s, t)}</Descriptions.Item>
          {data.backup !== undefined && (
            <Descriptions.Item label={t('status.backup')} span={2}>
              <BackupSummary backup={data.backup} />
            </Descriptions.Item>
          )}
        </Descriptions>
      )}
      <Table<Row>
        rowKey="name"
        size="middle"
        loading={isPending}
        dataSource={rows}
        pagination={false}
        scroll={{ x: 900 }}
        data-testid="services-table"
        columns={[
          {
            title: t('status.service'),
            dataIndex: 'name',
            render: (name: string, row) => (
              <Space size={4}>
                <Typography.Text strong>{name}</Typography.Text>
                {row.oneshot && <Tag>{t('status.oneshot')}</Tag>}
              </Space>
            ),
          },
          {
            title: t('status.state'),
            dataIndex: 'state',
            render: (state: ServiceState, row) => (
              <Space direction="vertical" size={0}>
                <Tag color={STATE_COLORS[state] ?? TAG.grey} data-testid={`state-${row.name}`} data-state={state}>
                  {t(`status.state.${state}`)}
                </Tag>
                {row.next_restart_in_ms != null && (
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {t('status.restartIn', { ms: row.next_restart_in_ms })}
                  </Typography.Text>
                )}
              </Space>
            ),
          },
          { title: 'PID', dataIndex: 'pid', render: (pid: number | null | undefined) => pid ?? '-' },
          {
            title: t('status.uptime'),
            dataIndex: 'uptime_s',
            render: (s: number | null) => (s === null ? '-' : formatDuration(s, t)),
          },
          { title: t('status.restarts'), dataIndex: 'restarts', align: 'right' },
          {
            title: t('status.lastExit'),
            dataIndex: 'last_exit',
            render: (exit: ServiceExit | null | undefined, row) =>
              exit == null ? (
                '-'
              ) : (
                <Space direction="vertical" size={0}>
                  {describeExit(exit, t)}
                  {exit.code !== null && exit.code !== 0 && row.pid == null && row.last_output && (
                    <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid={`last-output-${row.name}`}>
                      {row.last_output}
                    </Typography.Text>
                  )}
                </Space>
              ),
          },
          {
            title: t('status.probeError'),
            dataIndex: 'last_probe_error',
            render: (message: string | null | undefined) =>
              message == null ? '-' : <Badge status="error" text={message} />,
          },
          {
            title: t('status.waitingFor'),
            dataIndex: 'waiting_for',
            render: (waits: Row['waiting_for']) =>
              waits === undefined || waits.length === 0
                ? '-'
                : waits.map((w) => `${w.service} (${w.condition})`).join(', '),
          },
        ]}
      />
    </Card>
  );
}
