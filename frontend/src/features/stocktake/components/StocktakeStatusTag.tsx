// A stocktake's status as a coloured tag.

import { Tag } from 'antd';
import { TAG } from '@/lib/colors';
import { useI18n } from '@/lib/i18n/i18n';
import type { StocktakeStatus } from '@/types/api';

const COLORS: Record<StocktakeStatus, string> = { open: TAG.blue, approved: TAG.green, cancelled: TAG.grey };

export function StocktakeStatusTag({ status }: { status: StocktakeStatus }) {
  const { t } = useI18n();
  return (
    <Tag color={COLORS[status]} data-testid="stocktake-status" data-status={status}>
      {t(`stocktake.status.${status}`)}
    </Tag>
  );
}
