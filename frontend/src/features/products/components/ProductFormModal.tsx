// Create or edit a product. Empty optional fields are sent as null (clearing
// them on edit); limits follow the database columns (contract 6.6).

import { Form, Input } from 'antd';
import { useMemo } from 'react';
import { FormModal } from '@/components/FormModal';
import { useI18n } from '@/lib/i18n/i18n';
import type { Product, ProductInput } from '@/types/api';
import { useSaveProduct } from '../api/save-product';

type Values = Record<keyof ProductInput, string | undefined>;

const OPTIONAL_FIELDS = [
  ['seller_sku', 100],
  ['size', 50],
  ['brand', 255],
  ['color', 100],
] as const;

export function toProductInput(values: Values): ProductInput {
  const optional = (value: string | undefined) => (value === undefined || value.trim() === '' ? null : value.trim());
  return {
    barcode: (values.barcode ?? '').trim(),
    gtin: optional(values.gtin),
    seller_sku: optional(values.seller_sku),
    size: optional(values.size),
    brand: optional(values.brand),
    color: optional(values.color),
  };
}

export interface ProductFormModalProps {
  open: boolean;
  /** The product to edit; null to create one. */
  product: Product | null;
  onClose: () => void;
  onSaved?: (product: Product) => void;
  /** A new product's barcode, e.g. the unknown code just scanned. */
  initialBarcode?: string;
}

export function ProductFormModal({ open, product, onClose, onSaved, initialBarcode }: ProductFormModalProps) {
  const { t } = useI18n();
  const save = useSaveProduct();
  const initialValues = useMemo<Partial<Values> | undefined>(
    () =>
      product === null
        ? initialBarcode === undefined
          ? undefined
          : { barcode: initialBarcode }
        : {
            barcode: product.barcode,
            gtin: product.gtin ?? undefined,
            seller_sku: product.seller_sku ?? undefined,
            size: product.size ?? undefined,
            brand: product.brand ?? undefined,
            color: product.color ?? undefined,
          },
    [product, initialBarcode],
  );

  return (
    <FormModal<Values>
      open={open}
      title={product === null ? t('product.create') : t('product.edit')}
      initialValues={initialValues}
      onClose={onClose}
      onSubmit={async (values) => {
        const saved = await save.mutateAsync({ id: product?.id ?? null, input: toProductInput(values) });
        onSaved?.(saved);
      }}
      testId="product-form"
    >
      <Form.Item
        name="barcode"
        label={t('product.barcode')}
        rules={[
          { required: true, whitespace: true, message: t('product.barcodeRequired') },
          { max: 100, message: t('common.maxLength', { n: 100 }) },
        ]}
      >
        <Input />
      </Form.Item>
      <Form.Item name="gtin" label="GTIN" rules={[{ max: 14, message: t('common.maxLength', { n: 14 }) }]}>
        <Input />
      </Form.Item>
      {OPTIONAL_FIELDS.map(([name, max]) => (
        <Form.Item key={name} name={name} label={t(`product.${name}`)} rules={[{ max, message: t('common.maxLength', { n: max }) }]}>
          <Input />
        </Form.Item>
      ))}
    </FormModal>
  );
}
