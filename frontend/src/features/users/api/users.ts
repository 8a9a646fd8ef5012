// User management for admins (issue 5): list, create, and update (role,
// active flag, new password). Users are never deleted.

import { crudResource } from '@/lib/crud-resource';
import { queryRoots } from '@/lib/query-keys';
import type { User, UserCreate, UserUpdate } from '@/types/api';

export const usersApi = crudResource<User, UserCreate, UserUpdate>({ path: '/users/', root: queryRoots.users });
