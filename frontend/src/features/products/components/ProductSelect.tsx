// Product picker with server-side search (300 ms debounce), for one product or
// several (`multiple`). With nothing typed it offers the newest products; the
// chosen products keep their labels while the list changes underneath.

import { Select, Spin } from 'antd';
import { useState } from 'react';
import { useI18n } from '@/lib/i18n/i18n';
import { useDebounced } from '@/lib/use-debounced';
import type { Product, Uuid } from '@/types/api';
import { useProducts } from '../api/get-products';

export function productLabel(product: Product): string {
  return [product.barcode, product.seller_sku ?? '-', product.brand ?? '-'].join(' | ');
}

interface CommonProps {
  id?: string;
  /** A product to offer before any search, e.g. the one the dialog was opened for. */
  preset?: Product;
  allowClear?: boolean;
  'aria-label'?: string;
}

export type ProductSelectProps = CommonProps &
  (
    | { multiple?: false; value?: Uuid | null; onChange?: (value: Uuid | undefined) => void }
    | { multiple: true; value?: Uuid[] | null; onChange?: (value: Uuid[]) => void }
  );

export function ProductSelect(props: ProductSelectProps) {
  const { id, preset, allowClear = true } = props;
  const { t } = useI18n();
  const [search, setSearch] = useState('');
  const [chosen, setChosen] = useState<Product[]>(preset === undefined ? [] : [preset]);
  const debounced = useDebounced(search, 300);
  const { data, isFetching } = useProducts({ page: 1, page_size: 20, search: debounced });

  const products: Product[] = [...(data?.items ?? [])];
  for (const extra of [...chosen, ...(preset === undefined ? [] : [preset])]) {
    if (!products.some((p) => p.id === extra.id)) products.unshift(extra);
  }
  const remember = (ids: Uuid[]) => setChosen(products.filter((p) => ids.includes(p.id)));

  const common = {
    id,
    showSearch: { filterOption: false, onSearch: setSearch },
    allowClear,
    placeholder: t('product.searchPlaceholder'),
    notFoundContent: isFetching ? <Spin size="small" /> : t('common.nothingFound'),
    options: products.map((p) => ({ value: p.id, label: productLabel(p) })),
    style: { width: '100%' },
    'aria-label': props['aria-label'],
    'data-testid': 'product-select',
  };

  if (props.multiple === true) {
    const { onChange } = props;
    return (
      <Select<Uuid[]>
        {...common}
        mode="multiple"
        value={props.value ?? []}
        onChange={(next) => {
          remember(next);
          onChange?.(next);
        }}
      />
    );
  }
  const { onChange } = props;
  return (
    <Select<Uuid>
      {...common}
      value={props.value ?? undefined}
      onChange={(next) => {
        remember(next === undefined ? [] : [next]);
        onChange?.(next);
      }}
    />
  );
}
