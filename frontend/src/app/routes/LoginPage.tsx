// /login: the sign-in card. A signed-in visitor goes straight on.

import { Flex } from 'antd';
import { Link, Navigate, useLocation, useNavigate } from 'react-router';
import { LanguageSwitch } from '@/components/LanguageSwitch';
import { LoginForm } from '@/features/auth/components/LoginForm';
import { redirectTarget } from '@/features/auth/components/RequireAuth';
import { useSession } from '@/features/auth/use-session';
import { useI18n } from '@/lib/i18n/i18n';

// A plain box rather than antd's Card: Card pulls in Tabs and Menu, which
// would cost the login route tens of kilobytes.
const CARD = {
  width: 380,
  maxWidth: '100%',
  padding: 24,
  background: '#fff',
  borderRadius: 8,
  boxShadow: '0 1px 2px rgba(0, 0, 0, 0.06), 0 1px 6px rgba(0, 0, 0, 0.08)',
} as const;

export default function LoginPage() {
  const { t } = useI18n();
  const { token } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  const target = redirectTarget(location.state);

  if (token !== null) return <Navigate to={target} replace />;

  return (
    <Flex justify="center" align="center" style={{ minHeight: '100vh', background: '#f0f2f5', padding: 16 }}>
      <main style={CARD}>
        <Flex justify="space-between" align="center" style={{ marginBottom: 16 }}>
          <h1 style={{ margin: 0, fontSize: 24, fontWeight: 600 }}>{t('login.title')}</h1>
          <LanguageSwitch />
        </Flex>
        <LoginForm onSignedIn={() => void navigate(target, { replace: true })} />
        <p style={{ marginTop: 16, marginBottom: 0, textAlign: 'center' }}>
          <Link to="/status">{t('nav.status')}</Link>
        </p>
      </main>
    </Flex>
  );
}
