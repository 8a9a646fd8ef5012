// /movements: the journal with filters (type, barcode, date range — a single
// day is from = to), kept in the URL and applied with "Apply"; CSV export of
// the applied filters.

import { Button, Card, DatePicker, Form, Input, Select, Space } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { ExportButton } from '@/components/ExportButton';
import { exportMovements } from '@/features/movements/api/export-movements';
import { useMovements } from '@/features/movements/api/get-movements';
import { MovementsTable } from '@/features/movements/components/MovementsTable';
import { useI18n } from '@/lib/i18n/i18n';
import { dateFormat } from '@/lib/i18n/format';
import { movementTypeLabel } from '@/lib/operations';
import { useUrlState } from '@/lib/search-params';
import { LEDGER_MOVEMENT_TYPES, OPERATION_TYPES, type MovementFilters } from '@/types/api';

const WIRE_DATE = 'YYYY-MM-DD';

interface FilterValues {
  operation_type?: string;
  barcode?: string;
  range?: [Dayjs | null, Dayjs | null] | null;
}

function parseDate(value: string | undefined): Dayjs | null {
  if (value === undefined) return null;
  const date = dayjs(value);
  return date.isValid() ? date : null;
}

export default function JournalPage() {
  const { t, lang } = useI18n();
  const url = useUrlState();
  const [form] = Form.useForm<FilterValues>();
  const filters: MovementFilters = {
    operation_type: url.get('type'),
    barcode: url.get('barcode'),
    product_id: url.get('product'),
    date_from: url.get('from'),
    date_to: url.get('to'),
  };
  const movements = useMovements({ page: url.page, page_size: url.pageSize, ...filters });

  function apply(values: FilterValues) {
    const [from, to] = values.range ?? [null, null];
    url.update({
      type: values.operation_type,
      barcode: values.barcode?.trim(),
      from: from?.format(WIRE_DATE),
      to: (to ?? from)?.format(WIRE_DATE),
      page: 1,
    });
  }

  function reset() {
    form.resetFields();
    url.update({ type: null, barcode: null, product: null, from: null, to: null, page: 1, size: null });
  }

  const today = dayjs();
  const presets = [
    { label: t('journal.today'), value: [today, today] as [Dayjs, Dayjs] },
    { label: t('journal.yesterday'), value: [today.subtract(1, 'day'), today.subtract(1, 'day')] as [Dayjs, Dayjs] },
    { label: t('journal.last7'), value: [today.subtract(6, 'day'), today] as [Dayjs, Dayjs] },
  ];

  return (
    <Card
      title={t('nav.journal')}
      extra={<ExportButton onExport={() => exportMovements(filters)} fallbackName="movements.csv" testId="movements-export" />}
    >
      <Form<FilterValues>
        form={form}
        name="journal-filters"
        layout="inline"
        onFinish={apply}
        initialValues={{
          operation_type: filters.operation_type,
          barcode: filters.barcode,
          range: filters.date_from === undefined ? null : [parseDate(filters.date_from), parseDate(filters.date_to)],
        }}
        style={{ marginBottom: 16, rowGap: 8 }}
      >
        <Form.Item name="operation_type">
          <Select
            allowClear
            placeholder={t('journal.type')}
            aria-label={t('journal.type')}
            style={{ width: 200 }}
            options={[...OPERATION_TYPES, ...LEDGER_MOVEMENT_TYPES].map((type) => ({
              value: type,
              label: t(movementTypeLabel(type)),
            }))}
            data-testid="filter-type"
          />
        </Form.Item>
        <Form.Item name="range">
          <DatePicker.RangePicker
            format={dateFormat(lang)}
            allowEmpty={[false, true]}
            presets={presets}
            placeholder={[t('journal.from'), t('journal.to')]}
            data-testid="filter-dates"
          />
        </Form.Item>
        <Form.Item name="barcode">
          <Input
            allowClear
            placeholder={t('journal.barcode')}
            aria-label={t('journal.barcode')}
            style={{ width: 200 }}
            data-testid="filter-barcode"
          />
        </Form.Item>
        <Form.Item>
          <Space>
            <Button type="primary" htmlType="submit" data-testid="filter-apply">
              {t('journal.apply')}
            </Button>
            <Button onClick={reset} data-testid="filter-reset">
              {t('journal.reset')}
            </Button>
          </Space>
        </Form.Item>
      </Form>
      <MovementsTable query={movements} onPageChange={(page, size) => url.update({ page, size })} />
    </Card>
  );
}
