import type { JsonSchema } from './api-route.ts';
import { nullable, object, uuid } from './common-schemas.ts';

export const roleSchema: JsonSchema = { type: 'string', enum: ['admin', 'technician', 'farmer'] };
export const emailSchema: JsonSchema = { type: 'string', format: 'email', maxLength: 254 };
/** Length and content rules are checked by the password policy, which names every problem. */
/** The role a farm link is made in (migration 0016): farmer reads (and may own), technician reads and writes. */
export const linkRoleSchema: JsonSchema = {
  type: 'string',
  enum: ['farmer', 'technician'],
  description: 'farmer: read-only (an owner also manages the farm’s technicians); technician: read and write',
};
/** One farm of a user: one entry per farm, with every role the user is linked to it in. */
export const userFarmSchema: JsonSchema = object({
  id: uuid,
  name: { type: 'string' },
  is_owner: { type: 'boolean' },
  linked_as: { type: 'array', items: linkRoleSchema, minItems: 1, uniqueItems: true },
});
export const passwordSchema: JsonSchema = { type: 'string', minLength: 1, maxLength: 1024 };

export const currentUserSchema: JsonSchema = object({
  id: uuid,
  email: { type: 'string' },
  full_name: { type: ['string', 'null'] },
  roles: { type: 'array', items: roleSchema },
  farms: { type: 'array', items: userFarmSchema },
});

export const sessionSchema: JsonSchema = object({
  user: { $ref: '#/components/schemas/CurrentUser' },
  csrf_token: {
    type: 'string',
    description: 'Send as X-CSRF-Token on every POST/PATCH/PUT/DELETE made with the session cookie.',
  },
});

export const userSchema: JsonSchema = object({
  id: uuid,
  email: { type: 'string' },
  full_name: { type: ['string', 'null'] },
  roles: { type: 'array', items: roleSchema },
  status: { type: 'string', enum: ['active', 'disabled'] },
  operator_code: { type: ['string', 'null'] },
  created_at: nullable({ type: 'string', format: 'date-time' }),
  last_sign_in_at: nullable({ type: 'string', format: 'date-time' }),
  farms: { type: 'array', items: userFarmSchema },
});
