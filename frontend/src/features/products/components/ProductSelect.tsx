// Product picker with server-side search (300 ms debounce). With nothing typed
// it offers the newest products; the chosen product keeps its label while the
// list changes underneath.

import { Select, Spin } from 'antd';
import { useState } from 'react';
import { useI18n } from '@/lib/i18n/i18n';
import { useDebounced } from '@/lib/use-debounced';
import type { Product, Uuid } from '@/types/api';
import { useProducts } from '../api/get-products';

export function productLabel(product: Product): string {
  return [product.barcode, product.seller_sku ?? '-', product.brand ?? '-'].join(' | ');
}

export interface ProductSelectProps {
  id?: string;
  value?: Uuid | null;
  onChange?: (value: Uuid | undefined) => void;
  /** A product to offer before any search, e.g. the one the dialog was opened for. */
  preset?: Product;
  allowClear?: boolean;
}

export function ProductSelect({ id, value, onChange, preset, allowClear = true }: ProductSelectProps) {
  const { t } = useI18n();
  const [search, setSearch] = useState('');
  const [chosen, setChosen] = useState<Product | undefined>(preset);
  const debounced = useDebounced(search, 300);
  const { data, isFetching } = useProducts({ page: 1, page_size: 20, search: debounced });

  const products: Product[] = [...(data?.items ?? [])];
  for (const extra of [chosen, preset]) {
    if (extra !== undefined && !products.some((p) => p.id === extra.id)) products.unshift(extra);
  }

  return (
    <Select<Uuid>
      id={id}
      showSearch={{ filterOption: false, onSearch: setSearch }}
      value={value ?? undefined}
      onChange={(next) => {
        setChosen(products.find((p) => p.id === next));
        onChange?.(next);
      }}
      allowClear={allowClear}
      placeholder={t('product.searchPlaceholder')}
      notFoundContent={isFetching ? <Spin size="small" /> : t('common.nothingFound')}
      options={products.map((p) => ({ value: p.id, label: productLabel(p) }))}
      style={{ width: '100%' }}
      data-testid="product-select"
    />
  );
}
