// The operation dialog: the nine types with their conditional fields (the
// rules live in operation-rules.ts), quantity, notes, and the server's own
// message when it refuses (F-05). The product, source and DC pickers belong to
// other features, so the page hands them in.

import { App, Form, Input, InputNumber, Select, Typography } from 'antd';
import { useMemo, useRef, type ReactElement } from 'react';
import { FormModal } from '@/components/FormModal';
import { isOutcomeUnknown } from '@/lib/api';
import { useI18n } from '@/lib/i18n/i18n';
import { movementTypeLabel } from '@/lib/operations';
import { randomUuid } from '@/lib/random-id';
import { OPERATION_TYPES, type Uuid } from '@/types/api';
import { useCreateMovement } from '../api/create-movement';
import {
  MAX_QUANTITY,
  OPERATION_RULES,
  isValidQuantity,
  requiresField,
  toMovementCreate,
  type OperationFormValues,
} from '../operation-rules';

export interface OperationDialogProps {
  open: boolean;
  onClose: () => void;
  productPicker: ReactElement;
  sourcePicker: ReactElement;
  dcPicker: ReactElement;
  /** Preselects the product (the dialog was opened from its row). */
  productId?: Uuid;
}

/** Keeps one idempotency key while the same body is retried after an unknown outcome. */
interface PendingKey {
  key: string;
  body: string;
}

export function OperationDialog({ open, onClose, productPicker, sourcePicker, dcPicker, productId }: OperationDialogProps) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const createMovement = useCreateMovement();
  const pending = useRef<PendingKey | null>(null);
  const initialValues = useMemo<OperationFormValues>(() => ({ product_id: productId }), [productId]);

  async function submit(values: OperationFormValues) {
    const body = toMovementCreate(values);
    if (body === null) return Promise.reject(new Error('invalid form'));
    const serialized = JSON.stringify(body);
    if (pending.current?.body !== serialized) pending.current = { key: randomUuid(), body: serialized };
    try {
      await createMovement.mutateAsync({ body, idempotencyKey: pending.current.key });
      pending.current = null;
      void message.success(t('operation.done'));
    } catch (error) {
      if (!isOutcomeUnknown(error)) pending.current = null;
      throw error;
    }
  }

  return (
    <FormModal<OperationFormValues>
      open={open}
      title={t('operation.title')}
      okText={t('operation.submit')}
      initialValues={initialValues}
      onSubmit={submit}
      onClose={onClose}
      testId="operation-dialog"
    >
      <Form.Item name="operation_type" label={t('operation.type')} rules={[{ required: true, message: t('operation.typeRequired') }]}>
        <Select
          data-testid="operation-type"
          options={OPERATION_TYPES.map((type) => ({
            value: type,
            label: t(movementTypeLabel(type)),
          }))}
        />
      </Form.Item>
      <EffectHint />
      <Form.Item name="product_id" label={t('operation.product')} rules={[{ required: true, message: t('operation.productRequired') }]}>
        {productPicker}
      </Form.Item>
      <Form.Item
        name="quantity"
        label={t('operation.quantity')}
        rules={[
          { required: true, message: t('operation.quantityRequired') },
          {
            validator: (_, value: unknown) =>
              value === null || value === undefined || isValidQuantity(value)
                ? Promise.resolve()
                : Promise.reject(new Error(t('operation.quantityInvalid', { max: MAX_QUANTITY }))),
          },
        ]}
      >
        <InputNumber min={1} max={MAX_QUANTITY} precision={0} style={{ width: '100%' }} data-testid="operation-quantity" />
      </Form.Item>
      <ConditionalField field="source_id" label={t('operation.source')} required={t('operation.sourceRequired')}>
        {sourcePicker}
      </ConditionalField>
      <ConditionalField field="distribution_center_id" label={t('operation.dc')} required={t('operation.dcRequired')}>
        {dcPicker}
      </ConditionalField>
      <Form.Item name="notes" label={t('operation.notes')}>
        <Input.TextArea rows={2} maxLength={1000} showCount data-testid="operation-notes" />
      </Form.Item>
    </FormModal>
  );
}

function useOperationType() {
  const form = Form.useFormInstance<OperationFormValues>();
  return Form.useWatch('operation_type', form);
}

/** A field shown (and required) only for the types whose rule names it. */
function ConditionalField({
  field,
  label,
  required,
  children,
}: {
  field: 'source_id' | 'distribution_center_id';
  label: string;
  required: string;
  children: ReactElement;
}) {
  const type = useOperationType();
  if (!requiresField(type, field)) return null;
  return (
    <Form.Item name={field} label={label} rules={[{ required: true, message: required }]}>
      {children}
    </Form.Item>
  );
}

/** One line saying what the chosen type does to the balances. */
function EffectHint() {
  const { t } = useI18n();
  const type = useOperationType();
  if (type === undefined) return null;
  const { stock, defect } = OPERATION_RULES[type].effect;
  const sign = (n: number) => (n > 0 ? '+' : '−');
  const parts = [
    stock !== 0 ? `${t('common.stock')} ${sign(stock)}n` : null,
    defect !== 0 ? `${t('common.defect')} ${sign(defect)}n` : null,
  ].filter((part) => part !== null);
  return (
    <Typography.Paragraph type="secondary" style={{ marginTop: -16 }}>
      {parts.join(', ')}
    </Typography.Paragraph>
  );
}
