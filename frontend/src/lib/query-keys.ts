// Root query keys of every cached resource. Features build their detailed keys
// under these roots; a mutation that changes another feature's data invalidates
// that root from here, so no feature imports another.

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
