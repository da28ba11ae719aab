import type { Principal } from './principal.ts';

/**
 * A principal as the session store builds it, for calling the access queries directly (tests and the
 * API bench): the user id and roles are what the queries read; the session fields are blank.
 */
export const testPrincipal = (userId: string, roles: Principal['roles']): Principal => ({
  userId,
  roles,
  email: '',
  fullName: null,
  csrfToken: '',
  sessionHash: Buffer.alloc(32),
});
