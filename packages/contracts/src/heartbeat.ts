import type { FromSchema } from 'json-schema-to-ts';
import { compileValidator } from './compile-validator.ts';
import { heartbeatSchema } from './heartbeat-schema.ts';
import type { ValidationResult } from './problems.ts';

/** The heartbeat version this build writes; the server reads any 1.x.y. */
export const HEARTBEAT_VERSION = '1.0.0';

/**
 * Free inodes (heartbeat `disk.free_inodes`) under which a device's data volume counts as out of them:
 * the agent refuses captures — each takes a handful of files — however many bytes `df -h` shows free,
 * and the server's disk badge says "out of inodes".
 */
export const DISK_INODES_SHORT = 64;

/** A valid device heartbeat, derived from `heartbeatSchema`. */
export type HeartbeatBody = FromSchema<typeof heartbeatSchema>;

const validate = compileValidator<HeartbeatBody>(heartbeatSchema);

/**
 * Validate a parsed heartbeat body; every problem is reported with its JSON pointer.
 *
 * @example const r = validateHeartbeat(JSON.parse(raw)); if (!r.ok) console.error(r.problems);
 */
export function validateHeartbeat(data: unknown): ValidationResult<HeartbeatBody> {
  return validate(data);
}
