// /import: Excel upload.

import { ImportPanel } from '@/features/import/components/ImportPanel';

export default function ImportPage() {
  return <ImportPanel />;
}
