// EN / RU switch; the choice is remembered by the i18n provider.

import { Segmented } from 'antd';
import { useI18n, type Lang } from '@/lib/i18n/i18n';

export function LanguageSwitch() {
  const { lang, setLang } = useI18n();
  return (
    <Segmented<Lang>
      size="small"
      value={lang}
      onChange={setLang}
      options={[
        { value: 'en', label: 'EN' },
        { value: 'ru', label: 'RU' },
      ]}
      data-testid="lang-switch"
    />
  );
}
