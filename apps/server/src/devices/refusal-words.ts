/** Why a device's heartbeat was refused, in words, and what fixes it (fleet page, device page, API, `device list`). */
export type RefusalWords = { reason: string; fix: string };

const CLOCK_FIX = "set the Pi's clock: `sudo timedatectl set-ntp true` (it needs an NTP server it can reach)";

/**
 * The words for a device_request_rejections row's error_code (heartbeat-route's codes). A refusal
 * names the device its request claimed, unauthenticated: a bad signature is the Pi's missing secret or
 * someone else using its name, and the words say so.
 *
 * @example refusalWords('stale_timestamp', 'pi-barn-1', 300).fix // "set the Pi's clock: `sudo timedatectl set-ntp true` …"
 */
export function refusalWords(
  errorCode: string,
  deviceCode: string,
  /** CTI_SIGNATURE_TOLERANCE_S; null where it is not known (the `device` command reads only DATABASE_URL). */
  toleranceSeconds: number | null,
): RefusalWords {
  const window =
    toleranceSeconds === null
      ? 'the allowed difference (CTI_SIGNATURE_TOLERANCE_S, 5 min by default)'
      : toleranceSeconds % 60 === 0
        ? `${toleranceSeconds / 60} min`
        : `${toleranceSeconds} s`;
  const rotate = `\`cti-server device rotate-secret ${deviceCode}\``;
  switch (errorCode) {
    case 'stale_timestamp':
      return { reason: `the Pi's clock is more than ${window} behind the server's`, fix: CLOCK_FIX };
    case 'future_timestamp':
      return { reason: `the Pi's clock is more than ${window} ahead of the server's`, fix: CLOCK_FIX };
    case 'bad_signature':
      return {
        reason:
          'signed with a key that is not a current key of this device (a rotated secret not installed on the Pi, or another device using its name)',
        fix: `install the device's new secret on the Pi (/etc/cti/device-secret, then restart cti-agent); lost it: ${rotate} prints another`,
      };
    case 'no_device_key':
      return {
        reason: 'the device has no current key (revoked, or every key expired)',
        fix: `issue one with ${rotate} and install it on the Pi`,
      };
    case 'device_retired':
      return {
        reason: 'the device is retired (its keys are revoked)',
        fix: `if it is back in service: \`cti-server device unretire ${deviceCode}\`, then \`cti-server device add ${deviceCode}\` and install the secret it prints; otherwise switch the Pi off`,
      };
    case 'unknown_device':
      return {
        reason: 'the server had no such device when it was sent',
        fix: `\`cti-server device add ${deviceCode}\`, then install the secret it prints on the Pi`,
      };
    case 'missing_signature':
    case 'malformed_signature':
    case 'missing_timestamp':
    case 'malformed_timestamp':
      return {
        reason:
          'sent without a valid signature or timestamp header (an old agent, or something else using its name)',
        fix: "check the Pi's agent version and its secret file /etc/cti/device-secret",
      };
    case 'invalid_heartbeat':
    case 'invalid_json':
    case 'unsupported_media_type':
    case 'body_too_large':
      return {
        reason: `the heartbeat itself was refused (${errorCode})`,
        fix: "update the Pi's agent to a version this server accepts (the rejection's message names the field)",
      };
    default:
      return { reason: `refused (${errorCode})`, fix: 'see the server log for "device request refused"' };
  }
}

/** The clock is the cause: the snapshot's "clock synced" is out of date. */
export const isClockRefusal = (errorCode: string) =>
  errorCode === 'stale_timestamp' || errorCode === 'future_timestamp';
