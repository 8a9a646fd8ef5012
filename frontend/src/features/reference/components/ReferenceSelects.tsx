// Pickers for a source and a distribution centre (lists are small and cached).

import type { UseQueryResult } from '@tanstack/react-query';
import { Select } from 'antd';
import { useI18n } from '@/lib/i18n/i18n';
import type { MessageKey } from '@/lib/i18n/messages';
import type { DistributionCenter, Source, Uuid } from '@/types/api';
import { useDistributionCenters, useSources } from '../api/reference';

interface PickerProps {
  id?: string;
  value?: Uuid | null;
  onChange?: (value: Uuid | undefined) => void;
  /** Accessible name when no form label points at the picker. */
  'aria-label'?: string;
}

function ReferenceSelect<T extends { id: Uuid }>({
  list,
  label,
  placeholder,
  testId,
  ...props
}: PickerProps & { list: UseQueryResult<T[]>; label: (item: T) => string; placeholder: MessageKey; testId: string }) {
  const { t } = useI18n();
  return (
    <Select<Uuid>
      id={props.id}
      value={props.value ?? undefined}
      onChange={props.onChange}
      allowClear
      showSearch={{ optionFilterProp: 'label' }}
      loading={list.isPending}
      placeholder={t(placeholder)}
      aria-label={props['aria-label']}
      options={(list.data ?? []).map((item) => ({ value: item.id, label: label(item) }))}
      data-testid={testId}
    />
  );
}

export function SourceSelect(props: PickerProps) {
  return (
    <ReferenceSelect<Source>
      {...props}
      list={useSources()}
      label={(s) => s.name}
      placeholder="operation.sourcePlaceholder"
      testId="source-select"
    />
  );
}

export function DcSelect(props: PickerProps) {
  return (
    <ReferenceSelect<DistributionCenter>
      {...props}
      list={useDistributionCenters()}
      label={(dc) => `${dc.name} (${dc.code}, ${dc.marketplace})`}
      placeholder="operation.dcPlaceholder"
      testId="dc-select"
    />
  );
}
