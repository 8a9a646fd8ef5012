// The app shell: language, Ant Design theme and locale, query cache, router.
// When the session ends (logout, 401, expiry) cached data is dropped, so the
// next user never sees the previous one's pages.

import { QueryClientProvider } from '@tanstack/react-query';
import { ConfigProvider } from 'antd';
import enUS from 'antd/es/locale/en_US';
import ruRU from 'antd/es/locale/ru_RU';
import { useEffect, useState } from 'react';
import { BrowserRouter } from 'react-router';
import { authStore } from '@/lib/auth-store';
import { THEME_TOKENS } from '@/lib/colors';
import { I18nProvider, useI18n } from '@/lib/i18n/i18n';
import { ErrorBoundary } from './ErrorBoundary';
import { createQueryClient } from './query-client';
import { AppRoutes } from './routes';

function Themed() {
  const { lang } = useI18n();
  return (
    <ConfigProvider locale={lang === 'ru' ? ruRU : enUS} theme={{ token: THEME_TOKENS }}>
      <ErrorBoundary>
        <BrowserRouter>
          <AppRoutes />
        </BrowserRouter>
      </ErrorBoundary>
    </ConfigProvider>
  );
}

export function App() {
  const [queryClient] = useState(createQueryClient);

  useEffect(
    () =>
      authStore.subscribe(() => {
        if (authStore.getState().token === null) queryClient.clear();
      }),
    [queryClient],
  );

  return (
    <QueryClientProvider client={queryClient}>
      <I18nProvider>
        <Themed />
      </I18nProvider>
    </QueryClientProvider>
  );
}
