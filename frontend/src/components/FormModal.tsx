// A modal with a form, used by every create/edit dialog. It shows the server's
// own message above the fields and puts 422 field errors next to their fields;
// client-side validation stays inline.

import { Alert, Form, Modal } from 'antd';
import { useState, type ReactNode } from 'react';
import { ApiError } from '@/lib/api';
import { errorText, useI18n } from '@/lib/i18n/i18n';

export interface FormModalProps<Values> {
  open: boolean;
  title: ReactNode;
  okText?: ReactNode;
  /** The form starts from these each time the modal opens. */
  initialValues?: Partial<Values>;
  /** Rejects with the API's error to keep the modal open. */
  onSubmit: (values: Values) => Promise<unknown>;
  onClose: () => void;
  children: ReactNode;
  testId?: string;
}

/** Mounted only while open, so every opening starts from `initialValues`. */
export function FormModal<Values extends object>(props: FormModalProps<Values>) {
  return props.open ? <OpenFormModal<Values> {...props} /> : null;
}

function OpenFormModal<Values extends object>({
  title,
  okText,
  initialValues,
  onSubmit,
  onClose,
  children,
  testId,
}: FormModalProps<Values>) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const [error, setError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);

  async function submit(values: Values) {
    setSubmitting(true);
    setError(null);
    try {
      await onSubmit(values);
      onClose();
    } catch (caught) {
      setError(caught);
      if (caught instanceof ApiError) {
        const fields = Object.entries(caught.fieldErrors()).map(([name, message]) => ({ name, errors: [message] }));
        form.setFields(fields as Parameters<typeof form.setFields>[0]);
      }
    } finally {
      setSubmitting(false);
    }
  }

  return (
    <Modal
      open
      title={title}
      okText={okText ?? t('common.save')}
      cancelText={t('common.cancel')}
      onOk={() => form.submit()}
      onCancel={onClose}
      confirmLoading={submitting}
    >
      <Form<Values>
        form={form}
        layout="vertical"
        initialValues={initialValues}
        onFinish={(values) => void submit(values)}
        data-testid={testId}
      >
        {error !== null && (
          <Alert type="error" showIcon title={errorText(error, t)} style={{ marginBottom: 16 }} data-testid="form-error" />
        )}
        {children}
      </Form>
    </Modal>
  );
}
