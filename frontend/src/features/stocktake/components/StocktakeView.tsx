// /stocktakes/:id: count and review one stocktake. While it is open, scans
// (from the scanner anywhere on the page, the barcode field, or the camera)
// add one unit to the good or the defect count, and counts can be typed in the
// table (saved on Enter or when the field is left). The review shows, per
// product, what was frozen at the start, what moved since, what was counted and
// the difference (difference.ts); an admin approves with a reason (the
// differences are posted) or the admin or the creator cancels.

import { CheckOutlined, CloseOutlined } from '@ant-design/icons';
import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Flex,
  Form,
  Input,
  InputNumber,
  Popconfirm,
  Result,
  Segmented,
  Space,
  Spin,
  Statistic,
  Table,
  Typography,
} from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import { CameraScanButton } from '@/components/CameraScanButton';
import { FormModal } from '@/components/FormModal';
import { ScanInput } from '@/components/ScanInput';
import { QueryError } from '@/components/QueryError';
import { ApiError, refusalsOf } from '@/lib/api';
import { beep } from '@/lib/beep';
import { errorText, useI18n } from '@/lib/i18n/i18n';
import { formatDateTime } from '@/lib/i18n/format';
import { useScanHandler } from '@/lib/use-scanner';
import { MAX_QUANTITY, type LineRefusal, type StocktakeDetail, type StocktakeLine, type Uuid } from '@/types/api';
import {
  useApproveStocktake,
  useCancelStocktake,
  useCountLine,
  useScanLine,
  useStocktake,
} from '../api/stocktakes';
import { filterLines, lineDifference, reviewTotals, type Difference, type ReviewFilter } from '../difference';
import { StocktakeStatusTag } from './StocktakeStatusTag';

export interface StocktakeViewProps {
  id: Uuid;
  /** The signed-in user (cancelling is for admins and the creator). */
  userId: Uuid | undefined;
  isAdmin: boolean;
}

type CountMode = 'good' | 'defect';

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

function DifferenceCell({ value }: { value: Difference | null }) {
  if (value === null) return <Typography.Text type="secondary">-</Typography.Text>;
  const part = (n: number) => (
    <Typography.Text type={n === 0 ? undefined : n > 0 ? 'success' : 'danger'} strong={n !== 0}>
      {signed(n)}
    </Typography.Text>
  );
  return (
    <span data-testid="stocktake-difference">
      {part(value.good)} / {part(value.defect)}
    </span>
  );
}

export function StocktakeView({ id, userId, isAdmin }: StocktakeViewProps) {
  const { t, lang } = useI18n();
  const detail = useStocktake(id);

  if (detail.isPending) return <Spin size="large" />;
  if (detail.error !== null) {
    if (detail.error instanceof ApiError && detail.error.status === 404) {
      return <Result status="404" title={t('stocktake.notFound')} extra={<Link to="/stocktakes">{t('nav.stocktakes')}</Link>} />;
    }
    return <QueryError error={detail.error} onRetry={() => void detail.refetch()} />;
  }
  const stocktake = detail.data;
  const open = stocktake.status === 'open';
  const canCancel = open && (isAdmin || stocktake.created_by === userId);

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Card
        title={
          <Space>
            {t('stocktake.title', { date: formatDateTime(stocktake.created_at, lang) })}
            <StocktakeStatusTag status={stocktake.status} />
          </Space>
        }
        extra={
          <Space wrap>
            {open && isAdmin && <ApproveButton stocktake={stocktake} />}
            {canCancel && <CancelButton id={id} />}
          </Space>
        }
      >
        <Descriptions size="small" column={{ xs: 1, sm: 2, lg: 3 }}>
          <Descriptions.Item label={t('stocktake.by')}>{stocktake.created_by_email ?? '-'}</Descriptions.Item>
          <Descriptions.Item label={t('operation.notes')}>{stocktake.notes ?? '-'}</Descriptions.Item>
          {stocktake.closed_at !== null && (
            <Descriptions.Item label={t('stocktake.closed')}>{formatDateTime(stocktake.closed_at, lang)}</Descriptions.Item>
          )}
          {stocktake.reason !== null && (
            <Descriptions.Item label={t('stocktake.reason')}>
              <span data-testid="stocktake-reason">{stocktake.reason}</span>
            </Descriptions.Item>
          )}
        </Descriptions>
        <Totals lines={stocktake.lines} />
      </Card>
      {open && <Counter id={id} />}
      <Lines stocktake={stocktake} />
    </Space>
  );
}

function Totals({ lines }: { lines: StocktakeLine[] }) {
  const { t } = useI18n();
  const totals = reviewTotals(lines);
  return (
    <Flex gap={32} wrap style={{ marginTop: 16 }} data-testid="stocktake-totals">
      <Statistic title={t('stocktake.counted')} value={`${totals.counted} / ${totals.lines}`} />
      <Statistic title={t('stocktake.withDifference')} value={totals.withDifference} />
      <Statistic
        title={t('stocktake.surplus')}
        value={`+${totals.surplus.good} / +${totals.surplus.defect}`}
        styles={{ content: { color: totals.surplus.good + totals.surplus.defect > 0 ? '#237804' : undefined } }}
      />
      <Statistic
        title={t('stocktake.shortage')}
        value={`−${totals.shortage.good} / −${totals.shortage.defect}`}
        styles={{ content: { color: totals.shortage.good + totals.shortage.defect > 0 ? '#a8071a' : undefined } }}
      />
    </Flex>
  );
}

/** Scanning into the count: the mode says whether a scan is a good or a defect unit. */
function Counter({ id }: { id: Uuid }) {
  const { t } = useI18n();
  const scan = useScanLine(id);
  const [mode, setMode] = useState<CountMode>('good');
  const [last, setLast] = useState<{ ok: boolean; text: string } | null>(null);

  function count(raw: string) {
    const barcode = raw.trim();
    if (barcode === '') return;
    scan.mutate(
      { barcode, quantity: 1, defect: mode === 'defect' },
      {
        onSuccess: (line) => {
          beep('ok');
          setLast({
            ok: true,
            text: t('stocktake.scanned', {
              code: line.barcode,
              good: line.counted_quantity ?? 0,
              defect: line.counted_defect_quantity ?? 0,
            }),
          });
        },
        onError: (error) => {
          beep('error');
          setLast({ ok: false, text: `${barcode}: ${errorText(error, t)}` });
        },
      },
    );
  }

  useScanHandler(count);

  return (
    <Card title={t('stocktake.count')}>
      <Flex gap={12} wrap align="center">
        <Segmented<CountMode>
          value={mode}
          onChange={setMode}
          options={[
            { value: 'good', label: t('stocktake.modeGood') },
            { value: 'defect', label: t('stocktake.modeDefect') },
          ]}
          aria-label={t('stocktake.mode')}
          data-testid="stocktake-mode"
        />
        <ScanInput id="stocktake-scan-input" onCode={count} />
        <CameraScanButton onCode={count} />
      </Flex>
      <div role="status" aria-live="polite" style={{ marginTop: 12, minHeight: 22 }} data-testid="stocktake-last">
        {last !== null && <Typography.Text type={last.ok ? 'success' : 'danger'}>{last.text}</Typography.Text>}
      </div>
    </Card>
  );
}

/** A typed count, saved on Enter or blur; the other field keeps its count (or 0). */
function CountInput({ id, line, field }: { id: Uuid; line: StocktakeLine; field: 'good' | 'defect' }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const countLine = useCountLine(id);
  const saved = field === 'good' ? line.counted_quantity : line.counted_defect_quantity;
  const [value, setValue] = useState<number | null>(saved);
  const [seen, setSeen] = useState(saved);
  if (saved !== seen) {
    // The server's count changed (a scan, another user): show it.
    setSeen(saved);
    setValue(saved);
  }

  function save() {
    if (value === null || value === saved) return;
    const good = field === 'good' ? value : (line.counted_quantity ?? 0);
    const defect = field === 'defect' ? value : (line.counted_defect_quantity ?? 0);
    countLine.mutate(
      { productId: line.product_id, count: { counted_quantity: good, counted_defect_quantity: defect } },
      { onError: (error) => void message.error({ content: errorText(error, t), duration: 6 }) },
    );
  }

  return (
    <InputNumber
      min={0}
      max={MAX_QUANTITY}
      precision={0}
      value={value}
      onChange={(next) => setValue(typeof next === 'number' ? next : null)}
      onPressEnter={save}
      onBlur={save}
      placeholder="-"
      aria-label={`${field === 'good' ? t('stocktake.countedGood') : t('stocktake.countedDefect')}: ${line.barcode}`}
      style={{ width: 96 }}
      data-testid={`count-${field}-${line.barcode}`}
    />
  );
}

function Lines({ stocktake }: { stocktake: StocktakeDetail }) {
  const { t } = useI18n();
  const [filter, setFilter] = useState<ReviewFilter>('all');
  const open = stocktake.status === 'open';
  const pair = (good: number, defect: number) => `${good} / ${defect}`;
  return (
    <Card
      title={t('stocktake.review')}
      extra={
        <Segmented<ReviewFilter>
          value={filter}
          onChange={setFilter}
          options={[
            { value: 'all', label: t('stocktake.filterAll') },
            { value: 'uncounted', label: t('stocktake.filterUncounted') },
            { value: 'differences', label: t('stocktake.filterDifferences') },
          ]}
          aria-label={t('stocktake.filter')}
          data-testid="stocktake-lines-filter"
        />
      }
    >
      <Typography.Paragraph type="secondary">{t('stocktake.columnsHint')}</Typography.Paragraph>
      <Table<StocktakeLine>
        rowKey="product_id"
        size="middle"
        dataSource={filterLines(stocktake.lines, filter)}
        pagination={{ pageSize: 50, hideOnSinglePage: true, showSizeChanger: false }}
        scroll={{ x: 900 }}
        data-testid="stocktake-lines"
        columns={[
          { title: t('product.barcode'), dataIndex: 'barcode' },
          {
            title: t('journal.product'),
            key: 'product',
            render: (_: unknown, l) => [l.seller_sku, l.brand, l.size].filter((v) => v !== null).join(' · ') || '-',
          },
          {
            title: t('stocktake.expected'),
            key: 'expected',
            align: 'right',
            render: (_: unknown, l) => pair(l.expected_quantity, l.expected_defect_quantity),
          },
          {
            title: t('stocktake.moved'),
            key: 'moved',
            align: 'right',
            render: (_: unknown, l) => `${signed(l.moved_quantity)} / ${signed(l.moved_defect_quantity)}`,
          },
          {
            title: t('stocktake.countedGood'),
            key: 'counted_good',
            render: (_: unknown, l) =>
              open ? <CountInput id={stocktake.id} line={l} field="good" /> : (l.counted_quantity ?? '-'),
          },
          {
            title: t('stocktake.countedDefect'),
            key: 'counted_defect',
            render: (_: unknown, l) =>
              open ? <CountInput id={stocktake.id} line={l} field="defect" /> : (l.counted_defect_quantity ?? '-'),
          },
          {
            title: t('stocktake.difference'),
            key: 'difference',
            align: 'right',
            render: (_: unknown, l) => <DifferenceCell value={lineDifference(l)} />,
          },
        ]}
      />
    </Card>
  );
}

function ApproveButton({ stocktake }: { stocktake: StocktakeDetail }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const approve = useApproveStocktake(stocktake.id);
  const [open, setOpen] = useState(false);
  const [refused, setRefused] = useState<LineRefusal[]>([]);
  const barcodeOf = (productId: Uuid) =>
    stocktake.lines.find((l) => l.product_id === productId)?.barcode ?? productId;

  return (
    <>
      <Button type="primary" icon={<CheckOutlined />} onClick={() => setOpen(true)} data-testid="stocktake-approve">
        {t('stocktake.approve')}
      </Button>
      <FormModal<{ reason: string }>
        open={open}
        title={t('stocktake.approve')}
        okText={t('stocktake.approveOk')}
        onClose={() => {
          setOpen(false);
          setRefused([]);
        }}
        onSubmit={async ({ reason }) => {
          try {
            await approve.mutateAsync({ reason: reason.trim() });
            void message.success(t('stocktake.approved'));
          } catch (error) {
            setRefused(refusalsOf(error)?.lines ?? []);
            throw error;
          }
        }}
        testId="stocktake-approve-form"
      >
        <Typography.Paragraph>{t('stocktake.approveHelp')}</Typography.Paragraph>
        {refused.length > 0 && (
          <Alert
            type="warning"
            showIcon
            style={{ marginBottom: 16 }}
            title={t('stocktake.refusedLines')}
            description={
              <ul style={{ margin: 0, paddingLeft: 20 }}>
                {refused.map((r) => (
                  <li key={r.index}>
                    {barcodeOf(r.product_id)}: {r.detail}
                  </li>
                ))}
              </ul>
            }
          />
        )}
        <Form.Item
          name="reason"
          label={t('stocktake.reason')}
          rules={[
            { required: true, whitespace: true, message: t('stocktake.reasonRequired') },
            { max: 255, message: t('common.maxLength', { n: 255 }) },
          ]}
        >
          <Input maxLength={255} autoFocus />
        </Form.Item>
      </FormModal>
    </>
  );
}

function CancelButton({ id }: { id: Uuid }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const cancel = useCancelStocktake(id);
  return (
    <Popconfirm
      title={t('stocktake.cancelConfirm')}
      okText={t('stocktake.cancel')}
      cancelText={t('common.cancel')}
      okButtonProps={{ danger: true }}
      onConfirm={async () => {
        try {
          await cancel.mutateAsync(undefined);
          void message.success(t('stocktake.cancelled'));
        } catch (error) {
          void message.error({ content: errorText(error, t), duration: 8 });
        }
      }}
    >
      <Button danger icon={<CloseOutlined />} data-testid="stocktake-cancel">
        {t('stocktake.cancel')}
      </Button>
    </Popconfirm>
  );
}
