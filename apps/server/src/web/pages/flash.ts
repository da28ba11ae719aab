import type { Flash } from '../view-types.ts';

// What a form action did, carried over its redirect as `?done=<code>`: a fixed table of messages, so
// nothing from the URL is ever shown as typed (an unknown code shows nothing).
const MESSAGES: Record<string, Flash> = {
  'review-saved': { kind: 'success', text: 'Review saved.' },
  'scan-assigned': { kind: 'success', text: 'Farm and animal saved.' },
  'scan-unchanged': { kind: 'info', text: 'Nothing changed: the farm and animal are as they were.' },
  'correction-saved': {
    kind: 'success',
    text: 'Correction saved as a new grading result; the model’s result stays in the history.',
  },
  'animal-saved': { kind: 'success', text: 'Animal saved.' },
  'animal-created': { kind: 'success', text: 'Animal added.' },
  'farm-created': { kind: 'success', text: 'Farm created.' },
  'farm-saved': { kind: 'success', text: 'Farm saved.' },
  'farm-deleted': { kind: 'success', text: 'Farm deleted.' },
  'device-saved': { kind: 'success', text: 'Device label and farm saved.' },
  'device-moved-late': { kind: 'success', text: 'Device label and farm saved.' },
  'device-retired': {
    kind: 'success',
    text: 'Device retired: its keys are revoked and it is no longer watched.',
  },
  'device-unretired': {
    kind: 'success',
    text: 'Device back in service, without a key: issue one with cti-server device add.',
  },
  'calibration-set': {
    kind: 'success',
    text: 'Calibration set. Scans already graded keep their result until they are regraded.',
  },
  'calibration-set-regraded': { kind: 'success', text: 'Calibration set.' },
  'calibration-cleared': {
    kind: 'success',
    text: 'Calibration cleared. Scans already graded keep their result until they are regraded.',
  },
  'member-added': { kind: 'success', text: 'Member added.' },
  'member-removed': { kind: 'success', text: 'Member removed.' },
  'group-created': { kind: 'success', text: 'Group created.' },
  'group-saved': { kind: 'success', text: 'Group saved.' },
  'group-deleted': { kind: 'success', text: 'Group deleted.' },
  'group-animal-added': { kind: 'success', text: 'Animal added to the group.' },
  'group-animal-removed': { kind: 'success', text: 'Animal removed from the group.' },
  'notification-read': { kind: 'success', text: 'Marked as read.' },
  'notifications-read': { kind: 'success', text: 'All notifications marked as read.' },
  'user-created': { kind: 'success', text: 'User created.' },
  'user-saved': { kind: 'success', text: 'User saved.' },
  'password-reset': { kind: 'success', text: 'Password reset; the user was signed out everywhere.' },
  'user-farm-added': { kind: 'success', text: 'Farm assigned.' },
  'user-farm-removed': { kind: 'success', text: 'Farm unassigned.' },
  'registration-approved': { kind: 'success', text: 'Request approved: the account exists now.' },
  'registration-rejected': { kind: 'success', text: 'Request rejected.' },
  'announcement-created': { kind: 'success', text: 'Announcement published.' },
  'announcement-expired': { kind: 'success', text: 'Announcement expired.' },
  'announcement-deleted': { kind: 'success', text: 'Announcement deleted.' },
  'signed-in': { kind: 'success', text: 'You are signed in.' },
  'password-changed': { kind: 'success', text: 'Your password was changed; other devices were signed out.' },
  'name-saved': { kind: 'success', text: 'Name saved.' },
  'notifications-saved': {
    kind: 'success',
    text: 'Notification settings saved. They apply to new notifications; those you have stay.',
  },
};

/** The flash message of a `?done=` code, if it is one of ours. */
export function flashFrom(code: string | undefined): Flash[] {
  const message = code && Object.hasOwn(MESSAGES, code) ? MESSAGES[code] : undefined;
  return message ? [message] : [];
}
