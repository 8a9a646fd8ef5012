// /distribution-centers. Only admins may delete reference data (issue 5).

import { useIsAdmin } from '@/features/auth/api/me';
import { DistributionCentersManager } from '@/features/reference/components/ReferenceManager';

export default function DistributionCentersPage() {
  return <DistributionCentersManager canDelete={useIsAdmin()} />;
}
