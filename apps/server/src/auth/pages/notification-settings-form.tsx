import type { NotificationSettings } from '../../notifications/notification-settings.ts';
import { NOTIFICATION_TYPES, type NotificationType } from '../../notifications/notification-types.ts';
import { Button } from '../../web/components/button.tsx';
import { CheckboxField, CsrfField } from '../../web/components/form-field.tsx';

/**
 * The account page's notification settings: one checkbox per type the viewer's roles can receive, each
 * named `enabled` with the type as value, and a hidden `shown` per type so that an unticked box (which
 * a browser does not send) turns that type off. POST /account/notifications.
 */
export function NotificationSettingsForm({
  types,
  enabled,
  csrfToken,
  error,
}: {
  types: readonly NotificationType[];
  enabled: NotificationSettings;
  csrfToken: string;
  error?: string;
}) {
  if (types.length === 0) return <p>Your account has no role that receives notifications.</p>;
  return (
    <form method="post" action="/account/notifications" class="narrow-form">
      <CsrfField token={csrfToken} />
      <fieldset id="field-notifications" class={error ? 'field field-invalid' : 'field'}>
        <legend>Send me a notification when…</legend>
        {error && (
          <p class="field-error" id="field-notifications-error">
            <span class="visually-hidden">Error: </span>
            {error}
          </p>
        )}
        {types.map((t) => (
          <>
            <input type="hidden" name="shown" value={t} />
            <CheckboxField
              id={`field-notify-${t}`}
              name="enabled"
              value={t}
              label={NOTIFICATION_TYPES[t].label}
              hint={NOTIFICATION_TYPES[t].hint}
              checked={enabled[t]}
            />
          </>
        ))}
      </fieldset>
      <Button>Save notification settings</Button>
    </form>
  );
}
