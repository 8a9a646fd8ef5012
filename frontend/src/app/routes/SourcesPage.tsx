// /sources. Operators may not delete reference data (issue 5).

import { useMe } from '@/features/auth/api/me';
import { SourcesManager } from '@/features/reference/components/SourcesManager';

export default function SourcesPage() {
  const { data: me } = useMe();
  return <SourcesManager canDelete={me?.role !== 'operator'} />;
}
