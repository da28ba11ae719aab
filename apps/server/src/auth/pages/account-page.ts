import type { CurrentUser } from '../current-user.ts';
import { authPage, csrfField, field, h, notice } from './auth-page-shell.ts';

/** Profile, password change and sign-out of the signed-in user. */
export function accountPage({
  user,
  csrfToken,
  errors = {},
  info,
}: {
  user: CurrentUser;
  csrfToken: string;
  errors?: Record<string, string>;
  info?: string;
}) {
  return authPage({
    title: 'Your account',
    csrfToken,
    body: [
      info ? notice(info) : null,
      errors._form ? notice(errors._form, 'alert') : null,
      h(
        'dl',
        null,
        h('dt', null, 'Email'),
        h('dd', null, user.email),
        h('dt', null, 'Role'),
        h('dd', null, user.roles.join(', ') || 'none'),
        h('dt', null, 'Farms'),
        h('dd', null, user.farms.map((f) => `${f.name}${f.is_owner ? ' (owner)' : ''}`).join(', ') || 'none'),
      ),
      h(
        'form',
        { method: 'post', action: '/account' },
        csrfField(csrfToken),
        field({
          name: 'full_name',
          label: 'Name',
          value: user.full_name ?? '',
          error: errors.full_name,
          autocomplete: 'name',
        }),
        h('p', null, h('button', { type: 'submit' }, 'Save name')),
      ),
      h('h2', null, 'Change password'),
      h(
        'form',
        { method: 'post', action: '/account/password' },
        csrfField(csrfToken),
        field({
          name: 'current_password',
          label: 'Current password',
          type: 'password',
          error: errors.current_password,
          autocomplete: 'current-password',
        }),
        field({
          name: 'new_password',
          label: 'New password (at least 12 characters, not your email, not a common password)',
          type: 'password',
          error: errors.new_password,
          autocomplete: 'new-password',
        }),
        h('p', null, h('button', { type: 'submit' }, 'Change password')),
      ),
      h(
        'form',
        { method: 'post', action: '/sign-out' },
        csrfField(csrfToken),
        h('button', { type: 'submit' }, 'Sign out'),
      ),
    ],
  });
}
