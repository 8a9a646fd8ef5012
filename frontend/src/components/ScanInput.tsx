// The barcode field of the scanning screens: typing a code and Enter (or a
// scanner typing into the focused field) hands the code over and clears the
// field; Backspace in the empty field can undo the last scan. Labelled, so it
// is reachable and named for keyboard and screen-reader users.

import { Input } from 'antd';
import { useState } from 'react';
import { useI18n } from '@/lib/i18n/i18n';

export interface ScanInputProps {
  id: string;
  onCode: (code: string) => void;
  /** Backspace in the empty field. */
  onUndo?: () => void;
  disabled?: boolean;
}

export function ScanInput({ id, onCode, onUndo, disabled = false }: ScanInputProps) {
  const { t } = useI18n();
  const [text, setText] = useState('');
  return (
    <>
      <label htmlFor={id} style={{ fontWeight: 500 }}>
        {t('scan.input')}
      </label>
      <Input
        id={id}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter') {
            event.preventDefault();
            onCode(text);
            setText('');
          } else if (event.key === 'Backspace' && text === '' && onUndo !== undefined) {
            event.preventDefault();
            onUndo();
          }
        }}
        placeholder={t('scan.inputHint')}
        autoComplete="off"
        disabled={disabled}
        style={{ width: 260 }}
        data-testid={id}
      />
    </>
  );
}
