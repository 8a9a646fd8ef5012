// Sources and distribution centres: one manager driven by a list of fields.
// A field's spec gives its column, its form item and its limits; values are
// trimmed, and an empty optional field is sent as null.

import { Form, Input } from 'antd';
import { EntityManager } from '@/components/EntityManager';
import type { CrudResource } from '@/lib/crud-resource';
import { useI18n } from '@/lib/i18n/i18n';
import type { MessageKey } from '@/lib/i18n/messages';
import type { DistributionCenter, DistributionCenterInput, Source, SourceInput } from '@/types/api';
import { distributionCentersApi, sourcesApi } from '../api/reference';

interface FieldSpec<Input> {
  name: keyof Input & string;
  label: MessageKey;
  /** Column width limit of the database (contract 6.4/6.5). */
  max?: number;
  required: boolean;
  multiline?: boolean;
}

type Values = Record<string, string | undefined>;

export interface ReferenceKind<T, Input> {
  resource: CrudResource<T, Input, Input>;
  fields: readonly FieldSpec<Input>[];
  title: MessageKey;
  createTitle: MessageKey;
  editTitle: MessageKey;
  testId: string;
  rowName: (item: T) => string;
}

export const SOURCES: ReferenceKind<Source, SourceInput> = {
  resource: sourcesApi,
  fields: [
    { name: 'name', label: 'source.name', max: 255, required: true },
    { name: 'description', label: 'source.description', required: false, multiline: true },
  ],
  title: 'nav.sources',
  createTitle: 'source.create',
  editTitle: 'source.edit',
  testId: 'source',
  rowName: (source) => source.name,
};

export const DISTRIBUTION_CENTERS: ReferenceKind<DistributionCenter, DistributionCenterInput> = {
  resource: distributionCentersApi,
  fields: [
    { name: 'code', label: 'dc.code', max: 50, required: true },
    { name: 'name', label: 'dc.name', max: 255, required: true },
    { name: 'marketplace', label: 'dc.marketplace', max: 50, required: true },
  ],
  title: 'nav.dcs',
  createTitle: 'dc.create',
  editTitle: 'dc.edit',
  testId: 'dc',
  rowName: (dc) => `${dc.name} (${dc.code})`,
};

/** The request body from the form: trimmed values, empty optional ones as null. */
export function toReferenceInput<Input>(fields: readonly FieldSpec<Input>[], values: Values): Input {
  const input: Record<string, string | null> = {};
  for (const field of fields) {
    const value = values[field.name]?.trim() ?? '';
    input[field.name] = value === '' && !field.required ? null : value;
  }
  return input as Input;
}

export function ReferenceManager<T extends { id: string }, Input>({
  kind,
  canDelete,
}: {
  kind: ReferenceKind<T, Input>;
  canDelete: boolean;
}) {
  const { t } = useI18n();
  const list = kind.resource.useList();
  const save = kind.resource.useSave();
  const remove = kind.resource.useRemove();
  const record = (item: T) => item as unknown as Record<string, string | null>;

  return (
    <EntityManager<T, Values>
      title={t(kind.title)}
      createTitle={t(kind.createTitle)}
      editTitle={t(kind.editTitle)}
      list={list}
      columns={kind.fields.map((field) => ({
        title: t(field.label),
        key: field.name,
        render: (_: unknown, item: T) => record(item)[field.name] ?? '-',
      }))}
      initialValues={(item) =>
        item === null
          ? undefined
          : Object.fromEntries(kind.fields.map((field) => [field.name, record(item)[field.name] ?? undefined]))
      }
      onSave={(item, values) => save.mutateAsync({ id: item?.id ?? null, input: toReferenceInput(kind.fields, values) })}
      onDelete={canDelete ? (item) => remove.mutateAsync(item.id) : undefined}
      testId={kind.testId}
      rowName={kind.rowName}
      form={() =>
        kind.fields.map((field) => (
          <Form.Item
            key={field.name}
            name={field.name as string}
            label={t(field.label)}
            rules={[
              ...(field.required ? [{ required: true, whitespace: true, message: t('common.required') }] : []),
              ...(field.max === undefined ? [] : [{ max: field.max, message: t('common.maxLength', { n: field.max }) }]),
            ]}
          >
            {field.multiline ? <Input.TextArea rows={3} /> : <Input />}
          </Form.Item>
        ))
      }
    />
  );
}

export function SourcesManager({ canDelete }: { canDelete: boolean }) {
  return <ReferenceManager kind={SOURCES} canDelete={canDelete} />;
}

export function DistributionCentersManager({ canDelete }: { canDelete: boolean }) {
  return <ReferenceManager kind={DISTRIBUTION_CENTERS} canDelete={canDelete} />;
}
