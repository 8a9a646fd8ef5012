// UI language: English or Russian, switchable at run time and remembered in
// localStorage. Provides `t(key, params)` for our messages, and keeps dayjs's
// locale in step; Ant Design's locale is chosen from `lang` by the app shell.

import dayjs from 'dayjs';
import 'dayjs/locale/ru';
import { createContext, use, useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { en, type MessageKey } from './messages';
import { ru } from './ru';
import { ApiError } from '../api';

export type Lang = 'en' | 'ru';

export const LANG_STORAGE_KEY = 'wms.lang';

const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { en, ru };

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: Translate;
}

const I18nContext = createContext<I18n | null>(null);

function initialLang(): Lang {
  const saved = localStorage.getItem(LANG_STORAGE_KEY);
  if (saved === 'en' || saved === 'ru') return saved;
  return navigator.language.toLowerCase().startsWith('en') ? 'en' : 'ru';
}

export function translate(lang: Lang, key: MessageKey, params?: Record<string, string | number>): string {
  // A key missing at run time (e.g. a state a newer server reports) shows as itself.
  const text = CATALOGUES[lang][key] ?? key;
  if (params === undefined) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => String(params[name] ?? whole));
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);

  useEffect(() => {
    dayjs.locale(lang);
    document.documentElement.lang = lang;
    document.title = translate(lang, 'app.title');
  }, [lang]);

  const setLang = useCallback((next: Lang) => {
    localStorage.setItem(LANG_STORAGE_KEY, next);
    setLangState(next);
  }, []);

  const value = useMemo<I18n>(
    () => ({ lang, setLang, t: (key, params) => translate(lang, key, params) }),
    [lang, setLang],
  );
  return <I18nContext value={value}>{children}</I18nContext>;
}

export function useI18n(): I18n {
  const value = use(I18nContext);
  if (value === null) throw new Error('useI18n outside I18nProvider');
  return value;
}

/** A user-facing text for any error: the server's own message when it sent one. */
export function errorText(error: unknown, t: Translate): string {
  if (!(error instanceof ApiError)) return t('error.unexpected');
  switch (error.kind) {
    case 'network':
      return t('error.network');
    case 'unauthorized':
      return error.detail ?? t('error.unauthorized');
    case 'server':
      return error.detail ?? t('error.server', { status: error.status });
    case 'validation':
    case 'client':
      return error.message;
  }
}
