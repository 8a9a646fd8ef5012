// Catches rendering errors anywhere below it and offers a reload, instead of
// a blank page (kept light: it is part of every route's initial load). A failed lazy chunk (e.g. after a redeploy) lands here too.

import { Alert, Button } from 'antd';
import { Component, type ReactNode } from 'react';
import { useI18n } from '@/lib/i18n/i18n';

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override render() {
    return this.state.error === null ? this.props.children : <Crashed error={this.state.error} />;
  }
}

function Crashed({ error }: { error: Error }) {
  const { t } = useI18n();
  return (
    <Alert
      type="error"
      showIcon
      style={{ margin: 48 }}
      title={t('error.crashed')}
      description={error.message}
      action={
        <Button type="primary" onClick={() => window.location.reload()}>
          {t('error.reload')}
        </Button>
      }
    />
  );
}
