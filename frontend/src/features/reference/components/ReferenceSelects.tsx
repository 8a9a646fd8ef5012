// Pickers for a source and a distribution centre (lists are small and cached).

import { Select } from 'antd';
import { useI18n } from '@/lib/i18n/i18n';
import type { Uuid } from '@/types/api';
import { useDistributionCenters } from '../api/distribution-centers';
import { useSources } from '../api/sources';

interface PickerProps {
  id?: string;
  value?: Uuid | null;
  onChange?: (value: Uuid | undefined) => void;
}

export function SourceSelect({ id, value, onChange }: PickerProps) {
  const { t } = useI18n();
  const { data, isPending } = useSources();
  return (
    <Select<Uuid>
      id={id}
      value={value ?? undefined}
      onChange={onChange}
      allowClear
      showSearch={{ optionFilterProp: 'label' }}
      loading={isPending}
      placeholder={t('operation.sourcePlaceholder')}
      options={(data ?? []).map((s) => ({ value: s.id, label: s.name }))}
      data-testid="source-select"
    />
  );
}

export function DcSelect({ id, value, onChange }: PickerProps) {
  const { t } = useI18n();
  const { data, isPending } = useDistributionCenters();
  return (
    <Select<Uuid>
      id={id}
      value={value ?? undefined}
      onChange={onChange}
      allowClear
      showSearch={{ optionFilterProp: 'label' }}
      loading={isPending}
      placeholder={t('operation.dcPlaceholder')}
      options={(data ?? []).map((dc) => ({ value: dc.id, label: `${dc.name} (${dc.code}, ${dc.marketplace})` }))}
      data-testid="dc-select"
    />
  );
}
