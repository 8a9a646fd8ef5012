// /distribution-centers. Operators may not delete reference data (issue 5).

import { useMe } from '@/features/auth/api/me';
import { DistributionCentersManager } from '@/features/reference/components/DistributionCentersManager';

export default function DistributionCentersPage() {
  const { data: me } = useMe();
  return <DistributionCentersManager canDelete={me?.role !== 'operator'} />;
}
