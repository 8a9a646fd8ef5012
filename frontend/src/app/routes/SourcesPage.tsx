// /sources. Only admins may delete reference data (issue 5).

import { useIsAdmin } from '@/features/auth/api/me';
import { SourcesManager } from '@/features/reference/components/ReferenceManager';

export default function SourcesPage() {
  return <SourcesManager canDelete={useIsAdmin()} />;
}
