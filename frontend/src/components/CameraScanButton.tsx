// "Camera" button: opens a dialog with the camera's picture and hands every
// code it reads to `onCode` (the dialog stays open for the next one). The
// camera module and its decoder load only when the dialog opens. Shown only
// where the browser can open a camera (a secure context with media devices).

import { CameraOutlined } from '@ant-design/icons';
import { Alert, Button, Modal, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { errorText, useI18n } from '@/lib/i18n/i18n';

function cameraAvailable(): boolean {
  return typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getUserMedia === 'function';
}

export function CameraScanButton({ onCode }: { onCode: (code: string) => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  if (!cameraAvailable()) return null;
  return (
    <>
      <Button icon={<CameraOutlined />} onClick={() => setOpen(true)} data-testid="camera-open">
        {t('scan.camera')}
      </Button>
      <Modal
        open={open}
        title={t('scan.camera')}
        onCancel={() => setOpen(false)}
        footer={<Button onClick={() => setOpen(false)}>{t('common.close')}</Button>}
        destroyOnHidden
      >
        {open && <CameraView onCode={onCode} />}
      </Modal>
    </>
  );
}

function CameraView({ onCode }: { onCode: (code: string) => void }) {
  const { t } = useI18n();
  const video = useRef<HTMLVideoElement>(null);
  const handler = useRef(onCode);
  const [state, setState] = useState<{ decoder?: string; error?: unknown; last?: string }>({});

  useEffect(() => {
    handler.current = onCode;
  });

  useEffect(() => {
    let session: { stop(): void } | null = null;
    let cancelled = false;
    const element = video.current;
    if (element === null) return;
    import('@/lib/camera')
      .then(({ startCamera }) =>
        startCamera(element, (code) => {
          setState((s) => ({ ...s, last: code }));
          handler.current(code);
        }),
      )
      .then((started) => {
        if (cancelled) started.stop();
        else {
          session = started;
          setState((s) => ({ ...s, decoder: started.decoder }));
        }
      })
      .catch((error: unknown) => {
        if (!cancelled) setState((s) => ({ ...s, error }));
      });
    return () => {
      cancelled = true;
      session?.stop();
    };
  }, []);

  return (
    <>
      {state.error !== undefined && (
        <Alert
          type="error"
          showIcon
          title={state.error instanceof DOMException ? `${t('scan.cameraFailed')}: ${state.error.message}` : errorText(state.error, t)}
          style={{ marginBottom: 12 }}
        />
      )}
      <video
        ref={video}
        style={{ width: '100%', background: '#000', borderRadius: 8 }}
        aria-label={t('scan.cameraView')}
        data-testid="camera-video"
        data-decoder={state.decoder}
      />
      <Typography.Paragraph type="secondary" style={{ marginTop: 8, marginBottom: 0 }} aria-live="polite">
        {state.last === undefined ? t('scan.cameraHint') : t('scan.cameraRead', { code: state.last })}
      </Typography.Paragraph>
    </>
  );
}
