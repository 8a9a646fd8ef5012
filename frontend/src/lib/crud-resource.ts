// One small REST collection (sources, distribution centres, users): the full
// list at `path`, create with POST `path`, update with PUT `path{id}`, delete
// with DELETE `path{id}`. Builds the fetchers, the list's query options and
// the hooks once, so each collection is a line of configuration instead of a
// copy of the same module. Mutations invalidate the collection's root key.

import {
  queryOptions,
  useMutation,
  useQuery,
  useQueryClient,
  type UseMutationResult,
  type UseQueryResult,
} from '@tanstack/react-query';
import { api } from './api';

type Id = string;

export interface SaveVariables<Input> {
  id: Id | null;
  input: Input;
}

export interface CrudResource<T, Create, Update> {
  list(signal?: AbortSignal): Promise<T[]>;
  /** Creates when `id` is null, updates otherwise. */
  save(id: Id | null, input: Create | Update): Promise<T>;
  remove(id: Id): Promise<void>;
  listQueryOptions(): ReturnType<typeof listOptions<T>>;
  useList(): UseQueryResult<T[]>;
  useSave(): UseMutationResult<T, Error, SaveVariables<Create | Update>>;
  useRemove(): UseMutationResult<void, Error, Id>;
}

function listOptions<T>(queryKey: readonly string[], fetcher: (signal?: AbortSignal) => Promise<T[]>, staleTime: number) {
  return queryOptions({ queryKey, queryFn: ({ signal }) => fetcher(signal), staleTime });
}

export interface CrudOptions {
  /** The collection path with its trailing slash, e.g. "/sources/". */
  path: string;
  /** The root query key (from query-keys.ts). */
  root: readonly string[];
  /** How long the list counts as fresh (ms); reference lists change rarely. */
  staleTime?: number;
}

export function crudResource<T, Create, Update = Create>({
  path,
  root,
  staleTime = 10_000,
}: CrudOptions): CrudResource<T, Create, Update> {
  const itemPath = (id: Id) => `${path}${encodeURIComponent(id)}`;
  const list = (signal?: AbortSignal) => api.request<T[]>(path, { signal });
  const save = (id: Id | null, input: Create | Update) =>
    id === null
      ? api.request<T>(path, { method: 'POST', json: input })
      : api.request<T>(itemPath(id), { method: 'PUT', json: input });
  const remove = (id: Id) => api.request<void>(itemPath(id), { method: 'DELETE' });

  function useInvalidate() {
    const queryClient = useQueryClient();
    return () => queryClient.invalidateQueries({ queryKey: root });
  }

  return {
    list,
    save,
    remove,
    listQueryOptions: () => listOptions(root, list, staleTime),
    useList() {
      return useQuery(listOptions(root, list, staleTime));
    },
    useSave() {
      const invalidate = useInvalidate();
      return useMutation({
        mutationFn: ({ id, input }: SaveVariables<Create | Update>) => save(id, input),
        onSuccess: invalidate,
      });
    },
    useRemove() {
      const invalidate = useInvalidate();
      return useMutation({ mutationFn: remove, onSuccess: invalidate });
    },
  };
}
