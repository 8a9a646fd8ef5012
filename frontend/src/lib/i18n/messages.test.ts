import { describe, expect, it } from 'vitest';
import { en } from './messages';
import { ru } from './ru';
import { translate } from './i18n';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('message catalogues', () => {
  it('Russian texts use the same parameters as the English ones', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(ru[key]), key).toEqual(placeholders(en[key]));
      expect(ru[key].trim(), key).not.toBe('');
    }
  });

  it('fills parameters', () => {
    expect(translate('ru', 'common.totalRecords', { n: 42 })).toBe('Всего 42 записей');
    expect(translate('en', 'common.totalRecords', { n: 42 })).toBe('Total: 42');
  });
});
