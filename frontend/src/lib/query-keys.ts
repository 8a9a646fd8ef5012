// Root query keys of every cached resource. Features build their detailed keys
// under these roots; a mutation that changes another feature's data invalidates
// that root from here, so no feature imports another.

import type { QueryClient } from '@tanstack/react-query';

export const queryRoots = {
  me: ['auth', 'me'],
  products: ['products'],
  summary: ['stock', 'summary'],
  movements: ['movements'],
  sources: ['sources'],
  distributionCenters: ['distribution-centers'],
  users: ['users'],
  stocktakes: ['stocktakes'],
  health: ['health'],
} as const;

/** Everything a change of balances shows in: product lists, the totals, the journal. */
export const BALANCE_ROOTS = [queryRoots.products, queryRoots.summary, queryRoots.movements] as const;

/** Marks every query under these roots stale (active ones refetch). */
export function invalidateRoots(queryClient: QueryClient, roots: readonly (readonly string[])[]): Promise<void[]> {
  return Promise.all(roots.map((queryKey) => queryClient.invalidateQueries({ queryKey })));
}
