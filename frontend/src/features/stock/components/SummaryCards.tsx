// The dashboard's three totals. A failed load says so instead of spinning.

import { Alert, Card, Col, Row, Statistic } from 'antd';
import { errorText, useI18n } from '@/lib/i18n/i18n';
import { useSummary } from '../api/get-summary';

export function SummaryCards() {
  const { t } = useI18n();
  const { data, isPending, error } = useSummary();
  if (error !== null) return <Alert type="error" showIcon title={errorText(error, t)} style={{ marginBottom: 16 }} />;
  const cards = [
    { title: t('summary.products'), value: data?.total_products, color: undefined, id: 'total-products' },
    { title: t('summary.stock'), value: data?.total_stock, color: undefined, id: 'total-stock' },
    { title: t('summary.defect'), value: data?.total_defect, color: '#cf1322', id: 'total-defect' },
  ];
  return (
    <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
      {cards.map((card) => (
        <Col xs={24} sm={8} key={card.id}>
          <Card data-testid={card.id}>
            <Statistic title={card.title} value={card.value} loading={isPending} styles={{ content: { color: card.color } }} />
          </Card>
        </Col>
      ))}
    </Row>
  );
}
