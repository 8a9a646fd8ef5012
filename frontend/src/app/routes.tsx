// The route table. Every page is its own chunk, so the login route loads only
// the shell and the login form; the signed-in layout is a chunk of its own.
// `wms web` answers every one of these paths with index.html.

import { Spin } from 'antd';
import { lazy, Suspense, type ReactNode } from 'react';
import { Route, Routes } from 'react-router';
import { RequireAuth } from '@/features/auth/components/RequireAuth';

const AppLayout = lazy(() => import('./layout/AppLayout'));
const LoginPage = lazy(() => import('./routes/LoginPage'));
const DashboardPage = lazy(() => import('./routes/DashboardPage'));
const JournalPage = lazy(() => import('./routes/JournalPage'));
const ProductsPage = lazy(() => import('./routes/ProductsPage'));
const ProductPage = lazy(() => import('./routes/ProductPage'));
const SourcesPage = lazy(() => import('./routes/SourcesPage'));
const DistributionCentersPage = lazy(() => import('./routes/DistributionCentersPage'));
const ImportPage = lazy(() => import('./routes/ImportPage'));
const UsersPage = lazy(() => import('./routes/UsersPage'));
const ScanPage = lazy(() => import('./routes/ScanPage'));
const StocktakesPage = lazy(() => import('./routes/StocktakesPage'));
const StocktakePage = lazy(() => import('./routes/StocktakePage'));
const StatusPage = lazy(() => import('./routes/StatusPage'));
const NotFoundPage = lazy(() => import('./routes/NotFoundPage'));

function Loading() {
  return <Spin size="large" style={{ display: 'block', margin: '96px auto' }} />;
}

function Lazy({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}

export function AppRoutes() {
  return (
    <Lazy>
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/status" element={<StatusPage />} />
        <Route
          element={
            <RequireAuth>
              <AppLayout />
            </RequireAuth>
          }
        >
          <Route index element={<DashboardPage />} />
          <Route path="scan" element={<ScanPage />} />
          <Route path="stocktakes" element={<StocktakesPage />} />
          <Route path="stocktakes/:id" element={<StocktakePage />} />
          <Route path="movements" element={<JournalPage />} />
          <Route path="products" element={<ProductsPage />} />
          <Route path="products/:id" element={<ProductPage />} />
          <Route path="sources" element={<SourcesPage />} />
          <Route path="distribution-centers" element={<DistributionCentersPage />} />
          <Route path="import" element={<ImportPage />} />
          <Route path="users" element={<UsersPage />} />
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </Lazy>
  );
}
