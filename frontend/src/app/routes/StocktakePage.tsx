// /stocktakes/:id: counting, review, approval (admins) and cancellation.

import { useParams } from 'react-router';
import { useIsAdmin, useMe } from '@/features/auth/api/me';
import { StocktakeView } from '@/features/stocktake/components/StocktakeView';

export default function StocktakePage() {
  const { id = '' } = useParams();
  const { data: me } = useMe();
  return <StocktakeView id={id} userId={me?.id} isAdmin={useIsAdmin()} />;
}
