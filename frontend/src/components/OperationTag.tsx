// A journal type as a coloured tag with its label (unknown types: grey, raw code).

import { Tag } from 'antd';
import { useI18n } from '@/lib/i18n/i18n';
import { UNKNOWN_OPERATION_COLOR, operationLook } from '@/lib/operations';

export function OperationTag({ type }: { type: string }) {
  const { t } = useI18n();
  const look = operationLook(type);
  return <Tag color={look?.color ?? UNKNOWN_OPERATION_COLOR}>{look === null ? type : t(look.label)}</Tag>;
}
