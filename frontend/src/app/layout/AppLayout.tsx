// The signed-in frame: a responsive sidebar (collapses below the large
// breakpoint, content follows its width), a header with the language switch,
// the user and sign-out, and the page in the middle. It also warns a minute
// before the session expires.

import {
  ApiOutlined,
  AppstoreOutlined,
  AuditOutlined,
  BankOutlined,
  BarcodeOutlined,
  DashboardOutlined,
  HistoryOutlined,
  KeyOutlined,
  LogoutOutlined,
  ShopOutlined,
  TeamOutlined,
  UploadOutlined,
  UserOutlined,
} from '@ant-design/icons';
import { App as AntApp, Button, Layout, Menu, Space, Tag, Typography } from 'antd';
import { useEffect, useState, type ReactNode } from 'react';
import { Link, Outlet, useLocation } from 'react-router';
import { LanguageSwitch } from '@/components/LanguageSwitch';
import { logout } from '@/features/auth/api/login';
import { useIsAdmin, useMe } from '@/features/auth/api/me';
import { ChangePasswordModal } from '@/features/auth/components/ChangePasswordModal';
import { useSession } from '@/features/auth/use-session';
import { useI18n } from '@/lib/i18n/i18n';
import type { MessageKey } from '@/lib/i18n/messages';
import { GlobalScanner } from '../GlobalScanner';

const EXPIRY_WARNING_MS = 60_000;

interface NavItem {
  path: string;
  label: MessageKey;
  icon: ReactNode;
  adminOnly?: boolean;
}

const NAV: NavItem[] = [
  { path: '/', label: 'nav.dashboard', icon: <DashboardOutlined /> },
  { path: '/scan', label: 'nav.scan', icon: <BarcodeOutlined /> },
  { path: '/stocktakes', label: 'nav.stocktakes', icon: <AuditOutlined /> },
  { path: '/movements', label: 'nav.journal', icon: <HistoryOutlined /> },
  { path: '/products', label: 'nav.products', icon: <AppstoreOutlined /> },
  { path: '/sources', label: 'nav.sources', icon: <ShopOutlined /> },
  { path: '/distribution-centers', label: 'nav.dcs', icon: <BankOutlined /> },
  { path: '/import', label: 'nav.import', icon: <UploadOutlined /> },
  { path: '/users', label: 'nav.users', icon: <TeamOutlined />, adminOnly: true },
  { path: '/status', label: 'nav.status', icon: <ApiOutlined /> },
];

function selectedPath(pathname: string): string {
  const match = NAV.filter((item) => item.path !== '/' && pathname.startsWith(item.path)).sort(
    (a, b) => b.path.length - a.path.length,
  )[0];
  return match?.path ?? '/';
}

function useExpiryWarning() {
  const { expiresAt } = useSession();
  const { notification } = AntApp.useApp();
  const { t } = useI18n();
  useEffect(() => {
    if (expiresAt === null) return;
    const delay = expiresAt - EXPIRY_WARNING_MS - Date.now();
    if (delay < 0) return;
    const timer = setTimeout(() => notification.warning({ title: t('session.expiresSoon'), duration: 0 }), delay);
    return () => clearTimeout(timer);
  }, [expiresAt, notification, t]);
}

/**
 * Ant Design's App context (messages, notifications, confirmations) lives here,
 * not in the shell, so the login route does not load it.
 */
export default function AppLayout({ children }: { children?: ReactNode }) {
  return (
    <AntApp>
      <Frame>{children}</Frame>
    </AntApp>
  );
}

function Frame({ children }: { children?: ReactNode }) {
  const { t } = useI18n();
  const location = useLocation();
  const { data: me } = useMe();
  const [collapsed, setCollapsed] = useState(false);
  // Below the large breakpoint the sidebar hides entirely; above it, it folds to icons.
  const [narrow, setNarrow] = useState(false);
  const [changingPassword, setChangingPassword] = useState(false);
  const isAdmin = useIsAdmin();
  useExpiryWarning();

  const items = NAV.filter((item) => !item.adminOnly || isAdmin).map((item) => ({
    key: item.path,
    icon: item.icon,
    label: <Link to={item.path}>{t(item.label)}</Link>,
  }));

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider
        breakpoint="lg"
        collapsedWidth={narrow ? 0 : 80}
        onBreakpoint={setNarrow}
        collapsible
        collapsed={collapsed}
        onCollapse={setCollapsed}
        width={220}
      >
        <Typography.Title level={1} style={{ color: '#fff', margin: 16, fontSize: 20, whiteSpace: 'nowrap', overflow: 'hidden' }}>
          {collapsed ? t('app.name').charAt(0) : t('app.name')}
        </Typography.Title>
        <Menu theme="dark" mode="inline" selectedKeys={[selectedPath(location.pathname)]} items={items} data-testid="nav" />
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{ background: '#fff', padding: '0 16px', display: 'flex', justifyContent: 'flex-end', alignItems: 'center' }}
        >
          <Space size="middle" wrap>
            <LanguageSwitch />
            <Space size={4}>
              <UserOutlined />
              <span data-testid="user-email">{me?.email}</span>
              {me?.role !== undefined && <Tag>{t(`user.role.${me.role}`)}</Tag>}
            </Space>
            <Button type="text" icon={<KeyOutlined />} onClick={() => setChangingPassword(true)} title={t('password.title')} />
            <Button type="text" icon={<LogoutOutlined />} onClick={logout} data-testid="logout">
              {t('nav.logout')}
            </Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ margin: 24, minWidth: 0 }}>{children ?? <Outlet />}</Layout.Content>
        <ChangePasswordModal open={changingPassword} onClose={() => setChangingPassword(false)} />
        <GlobalScanner />
      </Layout>
    </Layout>
  );
}
