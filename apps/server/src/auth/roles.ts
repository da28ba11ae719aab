import type { RoleName } from '../notifications/notify-users.ts';

export type { RoleName };

/** The roles of spec §10, most powerful first. */
export const ROLE_NAMES: readonly RoleName[] = ['admin', 'technician', 'farmer'];

/** Roles a person may ask for when registering: nobody becomes admin by registering. */
export const REGISTRABLE_ROLES: readonly RoleName[] = ['farmer', 'technician'];
