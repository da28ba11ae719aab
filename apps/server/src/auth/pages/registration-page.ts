import { authPage, field, h, notice } from './auth-page-shell.ts';

export type RegistrationForm = {
  email?: string;
  full_name?: string;
  requested_role?: string;
  message?: string;
};

export function registrationPage({
  values = {},
  errors = {},
  done = false,
}: {
  values?: RegistrationForm;
  errors?: Record<string, string>;
  done?: boolean;
}) {
  if (done) {
    return authPage({
      title: 'Request received',
      body: [
        notice('Thank you. An administrator will review your request; you can sign in once it is approved.'),
        h('p', null, h('a', { href: '/sign-in' }, 'Back to sign-in')),
      ],
    });
  }
  const role = values.requested_role ?? 'farmer';
  const radio = (value: string, label: string) =>
    h(
      'label',
      null,
      h('input', { type: 'radio', name: 'requested_role', value, checked: role === value }),
      ` ${label} `,
    );
  return authPage({
    title: 'Ask for an account',
    body: [
      errors._form ? notice(errors._form, 'alert') : null,
      h(
        'form',
        { method: 'post', action: '/register' },
        field({
          name: 'full_name',
          label: 'Your name',
          value: values.full_name,
          error: errors.full_name,
          autocomplete: 'name',
        }),
        field({
          name: 'email',
          label: 'Email',
          type: 'email',
          value: values.email,
          error: errors.email,
          autocomplete: 'email',
        }),
        h(
          'fieldset',
          null,
          h('legend', null, 'I am a'),
          radio('farmer', 'farmer'),
          radio('technician', 'technician'),
          errors.requested_role ? h('span', { role: 'alert' }, errors.requested_role) : null,
        ),
        field({
          name: 'password',
          label: 'Password (at least 12 characters)',
          type: 'password',
          error: errors.password,
          autocomplete: 'new-password',
        }),
        h(
          'p',
          null,
          h('label', { for: 'message' }, 'Which farm, and anything the administrator should know (optional)'),
          h('br', null),
          h('textarea', { id: 'message', name: 'message', rows: 3, maxlength: 1000 }, values.message ?? ''),
          errors.message ? h('span', { role: 'alert' }, ` ${errors.message}`) : null,
        ),
        h('p', null, h('button', { type: 'submit' }, 'Send request')),
      ),
    ],
  });
}
