// Sources (contract 6.4) and distribution centres (6.5, the path says
// "centers"): full lists without pagination, create, partial update, delete
// (409 while movements reference the record). Reference lists change rarely,
// so they stay fresh for a minute.

import { crudResource } from '@/lib/crud-resource';
import { queryRoots } from '@/lib/query-keys';
import type { DistributionCenter, DistributionCenterInput, Source, SourceInput } from '@/types/api';

const REFERENCE_STALE_MS = 60_000;

export const sourcesApi = crudResource<Source, SourceInput>({
  path: '/sources/',
  root: queryRoots.sources,
  staleTime: REFERENCE_STALE_MS,
});

export const distributionCentersApi = crudResource<DistributionCenter, DistributionCenterInput>({
  path: '/distribution-centers/',
  root: queryRoots.distributionCenters,
  staleTime: REFERENCE_STALE_MS,
});

export const useSources = sourcesApi.useList;
export const useDistributionCenters = distributionCentersApi.useList;
