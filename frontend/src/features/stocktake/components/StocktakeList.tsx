// /stocktakes: every stocktake (newest first, filter by status) and "Start a
// stocktake": all products, or the ones chosen with the product picker the
// page hands in; the expected balances are frozen the moment it starts.

import { PlusOutlined } from '@ant-design/icons';
import { Button, Card, Form, Input, Radio, Select } from 'antd';
import { useState, type ReactElement } from 'react';
import { Link, useNavigate } from 'react-router';
import { FormModal } from '@/components/FormModal';
import { PagedTable } from '@/components/PagedTable';
import { useI18n } from '@/lib/i18n/i18n';
import { formatDateTime } from '@/lib/i18n/format';
import { useUrlState } from '@/lib/search-params';
import type { Stocktake, StocktakeStatus, Uuid } from '@/types/api';
import { useCreateStocktake, useStocktakes } from '../api/stocktakes';
import { StocktakeStatusTag } from './StocktakeStatusTag';

const STATUSES: StocktakeStatus[] = ['open', 'approved', 'cancelled'];

interface StartValues {
  scope: 'all' | 'chosen';
  product_ids?: Uuid[];
  notes?: string;
}

function isStatus(value: string | undefined): value is StocktakeStatus {
  return STATUSES.includes(value as StocktakeStatus);
}

export function StocktakeList({ productsPicker }: { productsPicker: ReactElement }) {
  const { t, lang } = useI18n();
  const url = useUrlState();
  const navigate = useNavigate();
  const raw = url.get('status');
  const status = isStatus(raw) ? raw : undefined;
  const list = useStocktakes({ page: url.page, page_size: url.pageSize, status });
  const create = useCreateStocktake();
  const [starting, setStarting] = useState(false);

  return (
    <Card
      title={t('nav.stocktakes')}
      extra={
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setStarting(true)} data-testid="stocktake-start">
          {t('stocktake.start')}
        </Button>
      }
    >
      <Select<StocktakeStatus>
        allowClear
        value={status}
        onChange={(value) => url.update({ status: value, page: 1 })}
        placeholder={t('stocktake.filterStatus')}
        aria-label={t('stocktake.filterStatus')}
        options={STATUSES.map((s) => ({ value: s, label: t(`stocktake.status.${s}`) }))}
        style={{ width: 220, marginBottom: 16 }}
        data-testid="stocktake-filter"
      />
      <PagedTable<Stocktake>
        query={list}
        onPageChange={(page, size) => url.update({ page, size })}
        testId="stocktakes-table"
        minWidth={760}
        columns={[
          {
            title: t('stocktake.started'),
            dataIndex: 'created_at',
            render: (iso: string, s) => <Link to={`/stocktakes/${s.id}`}>{formatDateTime(iso, lang)}</Link>,
          },
          { title: t('stocktake.statusTitle'), dataIndex: 'status', render: (s: StocktakeStatus) => <StocktakeStatusTag status={s} /> },
          { title: t('stocktake.by'), dataIndex: 'created_by_email', render: (v: string | null) => v ?? '-' },
          {
            title: t('stocktake.counted'),
            key: 'counted',
            render: (_: unknown, s) => `${s.lines_counted} / ${s.lines_total}`,
          },
          { title: t('stocktake.withDifference'), dataIndex: 'lines_with_difference', align: 'right' },
          { title: t('operation.notes'), dataIndex: 'notes', render: (v: string | null) => v ?? '-', ellipsis: true },
        ]}
      />
      <FormModal<StartValues>
        open={starting}
        title={t('stocktake.start')}
        okText={t('stocktake.startOk')}
        initialValues={{ scope: 'all' }}
        onClose={() => setStarting(false)}
        onSubmit={async (values) => {
          const created = await create.mutateAsync({
            product_ids: values.scope === 'all' ? null : (values.product_ids ?? []),
            notes: values.notes?.trim() || null,
          });
          void navigate(`/stocktakes/${created.id}`);
        }}
        testId="stocktake-form"
      >
        <Form.Item name="scope" label={t('stocktake.scope')}>
          <Radio.Group
            options={[
              { value: 'all', label: t('stocktake.scopeAll') },
              { value: 'chosen', label: t('stocktake.scopeChosen') },
            ]}
          />
        </Form.Item>
        <Form.Item noStyle dependencies={['scope']}>
          {({ getFieldValue }) =>
            getFieldValue('scope') === 'chosen' ? (
              <Form.Item
                name="product_ids"
                label={t('stocktake.products')}
                rules={[{ required: true, message: t('stocktake.productsRequired') }]}
              >
                {productsPicker}
              </Form.Item>
            ) : null
          }
        </Form.Item>
        <Form.Item name="notes" label={t('operation.notes')}>
          <Input maxLength={1000} />
        </Form.Item>
      </FormModal>
    </Card>
  );
}
