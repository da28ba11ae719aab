import type { RoleName } from './notify-users.ts';

/**
 * Every notification type the server sends, with the words the account page shows and the roles whose
 * holders can receive it (who actually gets one is the sender's audience: the farm's users, admins,
 * the technicians who see the device…). `notifyUsers` takes only these types, so a new sender adds its
 * type here and it is at once a setting a user can turn off (on by default: migration 0018).
 *
 * @example
 * NOTIFICATION_TYPES.scan_graded.label // 'A scan was graded'
 */
export const NOTIFICATION_TYPES = {
  scan_graded: {
    label: 'A scan was graded',
    hint: 'Every graded scan of your farms: on a busy farm, hundreds a day.',
    roles: ['farmer', 'technician'],
  },
  scan_rejected: {
    label: 'A scan was rejected (grade R)',
    hint: 'The animal needs a new scan.',
    roles: ['admin', 'farmer', 'technician'],
  },
  scan_corrected: {
    label: 'A result was corrected by hand',
    hint: 'Someone else redrew a scan’s ribeye outline.',
    roles: ['farmer', 'technician'],
  },
  grading_failed: {
    label: 'Grading a scan failed',
    hint: 'The scan could not be graded and needs a look.',
    roles: ['admin', 'technician'],
  },
  device_silent: {
    label: 'A device went silent',
    hint: 'No heartbeat from a probe station for a while.',
    roles: ['admin', 'technician'],
  },
  device_back: {
    label: 'A silent device is back',
    hint: 'A device you were told went silent sends heartbeats again (how long it was silent).',
    roles: ['admin', 'technician'],
  },
  device_backlog: {
    label: 'A device has a backlog',
    hint: 'Captures wait on the device for upload, or some were given up.',
    roles: ['admin', 'technician'],
  },
  device_disk_low: {
    label: 'A device is low on disk',
    hint: 'The device may soon be unable to keep captures, or is out of inodes and refuses them already.',
    roles: ['admin', 'technician'],
  },
  device_clock_unsynced: {
    label: 'A device clock is not synchronised',
    hint: 'Capture times from it may be wrong.',
    roles: ['admin', 'technician'],
  },
  scan_farm_ambiguous: {
    label: 'A scan lies in several farms’ geofences',
    hint: 'Its farm was not chosen: assign it to the right farm.',
    roles: ['admin'],
  },
  registration_pending: {
    label: 'Someone asked for an account',
    hint: 'A registration waits for an admin’s decision.',
    roles: ['admin'],
  },
} as const satisfies Record<string, { label: string; hint: string; roles: readonly RoleName[] }>;

export type NotificationType = keyof typeof NOTIFICATION_TYPES;

/** The types in the order the page and the API list them. */
export const NOTIFICATION_TYPE_NAMES = Object.keys(NOTIFICATION_TYPES) as NotificationType[];

export const isNotificationType = (name: string): name is NotificationType =>
  Object.hasOwn(NOTIFICATION_TYPES, name);

/** The types a holder of `roles` can receive (the account page shows these). */
export function typesForRoles(roles: readonly RoleName[]): NotificationType[] {
  return NOTIFICATION_TYPE_NAMES.filter((t) =>
    (NOTIFICATION_TYPES[t].roles as readonly RoleName[]).some((r) => roles.includes(r)),
  );
}
