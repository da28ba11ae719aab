import type { NotificationSettings } from '../../notifications/notification-settings.ts';
import { typesForRoles } from '../../notifications/notification-types.ts';
import { ActionForm, Button } from '../../web/components/button.tsx';
import { ErrorSummary, TextField } from '../../web/components/form-field.tsx';
import { type AssetUrls, renderPage } from '../../web/layout.tsx';
import type { Flash, Role } from '../../web/view-types.ts';
import type { CurrentUser } from '../current-user.ts';
import type { RoleName } from '../roles.ts';
import { NotificationSettingsForm } from './notification-settings-form.tsx';

/** Profile, notification settings, password change and sign-out of the signed-in user. */
export function accountPage({
  assets,
  user,
  notifications,
  csrfToken,
  unread,
  errors = {},
  flash = [],
}: {
  assets: AssetUrls;
  user: CurrentUser;
  /** Which notification types the user receives (every type; the form shows those of their roles). */
  notifications: NotificationSettings;
  csrfToken: string;
  unread: number;
  errors?: Record<string, string>;
  flash?: Flash[];
}): string {
  return renderPage({
    title: 'Your account',
    assets,
    currentPath: '/account',
    viewer: { name: user.full_name?.trim() || user.email, email: user.email, roles: user.roles as Role[] },
    csrfToken,
    unreadNotifications: unread,
    flash,
    children: (
      <>
        <ErrorSummary errors={errors} fieldIds={{ _form: 'field-current_password' }} />
        <dl class="facts">
          <div>
            <dt>Email</dt>
            <dd>{user.email}</dd>
          </div>
          <div>
            <dt>Role</dt>
            <dd>{user.roles.join(', ') || 'none'}</dd>
          </div>
          <div>
            <dt>Farms</dt>
            <dd>{user.farms.map((f) => `${f.name}${f.is_owner ? ' (owner)' : ''}`).join(', ') || 'none'}</dd>
          </div>
        </dl>
        <h2>Name</h2>
        <form method="post" action="/account" class="narrow-form">
          <input type="hidden" name="_csrf" value={csrfToken} />
          <TextField
            name="full_name"
            label="Name"
            required
            value={user.full_name ?? ''}
            error={errors.full_name}
            autocomplete="name"
          />
          <Button>Save name</Button>
        </form>
        <h2>Notifications</h2>
        <NotificationSettingsForm
          types={typesForRoles(user.roles as RoleName[])}
          enabled={notifications}
          csrfToken={csrfToken}
          error={errors.notifications}
        />
        <h2>Change password</h2>
        <form method="post" action="/account/password" class="narrow-form">
          <input type="hidden" name="_csrf" value={csrfToken} />
          <TextField
            name="current_password"
            label="Current password"
            type="password"
            required
            error={errors.current_password}
            autocomplete="current-password"
          />
          <TextField
            name="new_password"
            label="New password"
            type="password"
            required
            error={errors.new_password}
            autocomplete="new-password"
            hint="At least 12 characters, not your email, not a common password."
          />
          <Button>Change password</Button>
        </form>
        <h2>Sign out</h2>
        <ActionForm action="/sign-out" csrfToken={csrfToken}>
          Sign out of this device
        </ActionForm>
      </>
    ),
  });
}
