// The scan session screen (issue 19): choose the operation (and its source or
// DC), then scan. Scans arrive from the scanner anywhere on the page, from the
// barcode field (typing + Enter works the same), or from the camera. Each adds
// one unit; Backspace outside a text field (or in the empty barcode field)
// undoes the last scan; unknown codes beep low, flash, and offer to create the
// product. "Post" sends one batch (see scan-session.ts for the idempotency
// rules) and shows the server's refusals on their lines. The product lookup,
// the product form and the pickers belong to other features: the page hands
// them in.

import { DeleteOutlined, PlusOutlined, SendOutlined, UndoOutlined } from '@ant-design/icons';
import { Alert, App, Button, Card, Flex, Form, Input, InputNumber, Popconfirm, Select, Space, Table, Typography } from 'antd';
import { useEffect, useReducer, useRef, useState, type ReactElement, type ReactNode } from 'react';
import { CameraScanButton } from '@/components/CameraScanButton';
import { ScanInput } from '@/components/ScanInput';
import { isOutcomeUnknown, refusalsOf } from '@/lib/api';
import { beep } from '@/lib/beep';
import { errorText, useI18n } from '@/lib/i18n/i18n';
import type { MessageKey } from '@/lib/i18n/messages';
import { movementTypeLabel } from '@/lib/operations';
import { randomUuid } from '@/lib/random-id';
import { isEditableTarget } from '@/lib/scanner';
import { useScanHandler } from '@/lib/use-scanner';
import { OPERATION_TYPES, type BatchRequest, type OperationType } from '@/types/api';
import { usePostBatch } from '../api/post-batch';
import { MAX_QUANTITY, requiresField } from '../operation-rules';
import {
  initialSession,
  nextAttempt,
  postProblem,
  sessionReducer,
  totalUnits,
  type PostProblem,
  type ScannedProduct,
  type SessionLine,
  type SessionSetup,
} from '../scan-session';

export interface ScanSessionProps {
  /** The product a code names, or null if none. */
  lookup: (code: string) => Promise<ScannedProduct | null>;
  sourcePicker: ReactElement;
  dcPicker: ReactElement;
  /** The "create product" dialog for an unknown code; `onCreated` adds the new product as a scan. */
  createDialog: (code: string, onCreated: (product: ScannedProduct) => void, onClose: () => void) => ReactNode;
}

const PROBLEM_TEXT: Partial<Record<PostProblem, MessageKey>> = {
  sourceRequired: 'operation.sourceRequired',
  dcRequired: 'operation.dcRequired',
  tooManyLines: 'scan.tooManyLines',
};

const FLASH_MS = 700;

export function ScanSession({ lookup, sourcePicker, dcPicker, createDialog }: ScanSessionProps) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [state, dispatch] = useReducer(sessionReducer, undefined, () => initialSession());
  const post = usePostBatch();
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState<string | null>(null);
  const [flash, setFlash] = useState(false);
  const [last, setLast] = useState<{ code: string; known: boolean } | null>(null);
  const queue = useRef<Promise<void>>(Promise.resolve());
  const posting = useRef(false);

  useEffect(() => {
    if (!flash) return;
    const timer = setTimeout(() => setFlash(false), FLASH_MS);
    return () => clearTimeout(timer);
  }, [flash]);

  /** Scans are looked up one after another, so the list keeps their order. */
  function handleCode(raw: string) {
    const code = raw.trim();
    if (code === '') return;
    queue.current = queue.current.then(async () => {
      try {
        const product = await lookup(code);
        if (product === null) {
          dispatch({ type: 'unknown', code });
          setLast({ code, known: false });
          setFlash(true);
          beep('error');
        } else {
          dispatch({ type: 'scanned', product });
          setLast({ code: product.barcode, known: true });
          beep('ok');
        }
      } catch (caught) {
        beep('error');
        void message.error({ content: errorText(caught, t), duration: 6 });
      }
    });
  }

  useScanHandler(handleCode);

  // Backspace outside a text field undoes the last scan.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Backspace' || event.defaultPrevented || isEditableTarget(event.target)) return;
      event.preventDefault();
      dispatch({ type: 'undo' });
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  async function submit() {
    if (posting.current || postProblem(state) !== null) return;
    posting.current = true;
    const attempt = nextAttempt(state, randomUuid());
    dispatch({ type: 'posting', attempt });
    setError(null);
    try {
      const body = JSON.parse(attempt.body) as BatchRequest;
      const answer = await post.mutateAsync({ body, idempotencyKey: attempt.key });
      dispatch({ type: 'posted', movements: answer.movements.length });
      setLast(null);
    } catch (caught) {
      const refusals = refusalsOf(caught);
      if (refusals !== null) dispatch({ type: 'refused', lines: refusals.lines });
      else dispatch({ type: isOutcomeUnknown(caught) ? 'failedUnknown' : 'failed' });
      setError(caught);
      beep('error');
    } finally {
      posting.current = false;
    }
  }

  const problem = postProblem(state);
  const units = totalUnits(state);
  const busy = state.status === 'posting';
  const operation = state.setup.operation_type;

  return (
    <Card
      title={t('scan.title')}
      style={flash ? { outline: '4px solid #ff4d4f', transition: 'outline 0.1s' } : undefined}
      extra={
        <Typography.Text strong data-testid="scan-totals">
          {t('scan.totals', { lines: state.lines.length, units })}
        </Typography.Text>
      }
    >
      <Form<SessionSetup>
        layout="inline"
        initialValues={state.setup}
        onValuesChange={(changed: Partial<SessionSetup>) =>
          dispatch({
            type: 'configure',
            setup: Object.fromEntries(Object.entries(changed).map(([k, v]) => [k, v ?? null])) as Partial<SessionSetup>,
          })
        }
        disabled={busy}
        style={{ rowGap: 12, marginBottom: 16 }}
        name="scan-setup"
      >
        <Form.Item name="operation_type" label={t('operation.type')}>
          <Select<OperationType>
            style={{ width: 240 }}
            options={OPERATION_TYPES.map((type) => ({ value: type, label: t(movementTypeLabel(type)) }))}
            data-testid="scan-operation"
          />
        </Form.Item>
        {requiresField(operation, 'source_id') && (
          <Form.Item name="source_id" label={t('operation.source')} required>
            {sourcePicker}
          </Form.Item>
        )}
        {requiresField(operation, 'distribution_center_id') && (
          <Form.Item name="distribution_center_id" label={t('operation.dc')} required>
            {dcPicker}
          </Form.Item>
        )}
        <Form.Item name="notes" label={t('operation.notes')}>
          <Input maxLength={1000} style={{ width: 240 }} data-testid="scan-notes" />
        </Form.Item>
      </Form>

      <Flex gap={8} wrap align="center" style={{ marginBottom: 16 }}>
        <ScanInput id="scan-input" onCode={handleCode} onUndo={() => dispatch({ type: 'undo' })} disabled={busy} />
        <Button
          icon={<UndoOutlined />}
          onClick={() => dispatch({ type: 'undo' })}
          disabled={busy || state.scans.length === 0}
          data-testid="scan-undo"
        >
          {t('scan.undo')}
        </Button>
        <CameraScanButton onCode={handleCode} />
      </Flex>

      <div aria-live="polite" role="status" style={{ marginBottom: 12, minHeight: 22 }} data-testid="scan-last">
        {last !== null &&
          (last.known ? (
            <Typography.Text type="success">{t('scan.added', { code: last.code })}</Typography.Text>
          ) : (
            <Typography.Text type="danger">{t('scan.unknown', { code: last.code })}</Typography.Text>
          ))}
      </div>

      {state.unknown.map((code) => (
        <Alert
          key={code}
          type="error"
          showIcon
          role="alert"
          style={{ marginBottom: 8 }}
          title={t('scan.unknown', { code })}
          data-testid="scan-unknown"
          action={
            <Space>
              <Button size="small" icon={<PlusOutlined />} onClick={() => setCreating(code)} data-testid="scan-create">
                {t('scan.createProduct')}
              </Button>
              <Button size="small" onClick={() => dispatch({ type: 'dismissUnknown', code })}>
                {t('scan.dismiss')}
              </Button>
            </Space>
          }
        />
      ))}

      {state.posted !== null && (
        <Alert
          type="success"
          showIcon
          style={{ marginBottom: 12 }}
          title={t('scan.posted', { n: state.posted })}
          data-testid="scan-posted"
        />
      )}
      {error !== null && (
        <Alert
          type="error"
          showIcon
          style={{ marginBottom: 12 }}
          title={errorText(error, t)}
          description={isOutcomeUnknown(error) ? t('scan.retrySafe') : undefined}
          data-testid="scan-error"
        />
      )}

      <Table<SessionLine>
        rowKey={(line) => line.product.id}
        dataSource={state.lines}
        pagination={false}
        size="middle"
        scroll={{ x: 760 }}
        locale={{ emptyText: t('scan.empty') }}
        data-testid="scan-lines"
        rowClassName={(line) => (line.refusal === null ? '' : 'scan-line-refused')}
        columns={[
          {
            title: t('product.barcode'),
            key: 'barcode',
            render: (_: unknown, line) => <span data-testid="scan-line-barcode">{line.product.barcode}</span>,
          },
          {
            title: t('journal.product'),
            key: 'product',
            render: (_: unknown, line) =>
              [line.product.seller_sku, line.product.brand, line.product.size].filter((v) => v !== null).join(' · ') ||
              '-',
          },
          {
            title: t('operation.quantity'),
            key: 'quantity',
            width: 140,
            render: (_: unknown, line) => (
              <InputNumber
                min={0}
                max={MAX_QUANTITY}
                precision={0}
                value={line.quantity}
                disabled={busy}
                aria-label={`${t('operation.quantity')}: ${line.product.barcode}`}
                onChange={(value) =>
                  typeof value === 'number' && dispatch({ type: 'setQuantity', id: line.product.id, quantity: value })
                }
                data-testid="scan-line-quantity"
              />
            ),
          },
          {
            title: t('scan.lineStatus'),
            key: 'status',
            render: (_: unknown, line) =>
              line.refusal === null ? (
                ''
              ) : (
                <Typography.Text type="danger" data-testid="scan-line-refusal">
                  {line.refusal.detail}
                </Typography.Text>
              ),
          },
          {
            key: 'remove',
            title: t('common.actions'),
            width: 110,
            render: (_: unknown, line) => (
              <Button
                size="small"
                icon={<DeleteOutlined />}
                disabled={busy}
                onClick={() => dispatch({ type: 'removeLine', id: line.product.id })}
                aria-label={`${t('scan.removeLine')}: ${line.product.barcode}`}
              >
                {t('scan.removeLine')}
              </Button>
            ),
          },
        ]}
      />

      <Flex gap={8} wrap justify="flex-end" align="center" style={{ marginTop: 16 }}>
        {problem !== null && PROBLEM_TEXT[problem] !== undefined && (
          <Typography.Text type="warning">{t(PROBLEM_TEXT[problem])}</Typography.Text>
        )}
        <Popconfirm
          title={t('scan.clearConfirm')}
          okText={t('scan.clear')}
          cancelText={t('common.cancel')}
          onConfirm={() => dispatch({ type: 'clear' })}
          disabled={busy || (state.lines.length === 0 && state.unknown.length === 0)}
        >
          <Button disabled={busy || (state.lines.length === 0 && state.unknown.length === 0)}>{t('scan.clear')}</Button>
        </Popconfirm>
        <Button
          type="primary"
          icon={<SendOutlined />}
          onClick={() => void submit()}
          loading={busy}
          disabled={problem !== null && problem !== 'busy'}
          data-testid="scan-post"
        >
          {t('scan.post', { n: units })}
        </Button>
      </Flex>

      {creating !== null &&
        createDialog(
          creating,
          (product) => {
            dispatch({ type: 'dismissUnknown', code: creating });
            dispatch({ type: 'scanned', product });
            setLast({ code: product.barcode, known: true });
          },
          () => setCreating(null),
        )}
    </Card>
  );
}
