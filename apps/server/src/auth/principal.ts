import type { RoleName } from './roles.ts';

/** The signed-in user of a request, read from their session (see session-store.ts). */
export type Principal = {
  userId: string;
  email: string;
  fullName: string | null;
  roles: RoleName[];
  /** The session's CSRF token: forms carry it as `_csrf`, scripts as the X-CSRF-Token header. */
  csrfToken: string;
  /** SHA-256 of the session token (the sessions row key). */
  sessionHash: Buffer;
};

export const isAdmin = (p: Principal): boolean => p.roles.includes('admin');
export const isTechnician = (p: Principal): boolean => p.roles.includes('technician');

/** Hono context variables set by the session middleware. */
export type AuthVariables = { principal: Principal | undefined; requestId: string };
