// The query cache: retries only failures that may pass on a second try
// (network, 5xx), never 4xx; mutations are never retried.

import { QueryClient } from '@tanstack/react-query';
import { ApiError } from '@/lib/api';

const MAX_RETRIES = 2;

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        retry: (failures, error) =>
          failures < MAX_RETRIES && error instanceof ApiError && (error.kind === 'network' || error.kind === 'server'),
      },
      mutations: { retry: false },
    },
  });
}
