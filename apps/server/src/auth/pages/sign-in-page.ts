import { authPage, field, h, notice } from './auth-page-shell.ts';

export function signInPage({
  email,
  next,
  error,
  info,
}: {
  email?: string;
  next?: string;
  error?: string;
  info?: string;
}) {
  return authPage({
    title: 'Sign in',
    body: [
      info ? notice(info) : null,
      error ? notice(error, 'alert') : null,
      h(
        'form',
        { method: 'post', action: '/sign-in' },
        h('input', { type: 'hidden', name: 'next', value: next ?? '' }),
        field({ name: 'email', label: 'Email', type: 'email', value: email, autocomplete: 'username' }),
        field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' }),
        h('p', null, h('button', { type: 'submit' }, 'Sign in')),
      ),
      h('p', null, 'No account yet? ', h('a', { href: '/register' }, 'Ask for one')),
    ],
  });
}
