import { Button } from '../../web/components/button.tsx';
import { TextField } from '../../web/components/form-field.tsx';
import { type AssetUrls, renderPage } from '../../web/layout.tsx';
import type { Flash } from '../../web/view-types.ts';

/** The sign-in form (no JavaScript); the error is an alert above the form, the same for every failure. */
export function signInPage({
  assets,
  email,
  next,
  error,
  info,
}: {
  assets: AssetUrls;
  email?: string;
  next?: string;
  error?: string;
  info?: string;
}): string {
  const flash: Flash[] = [
    ...(info ? [{ kind: 'info' as const, text: info }] : []),
    ...(error ? [{ kind: 'error' as const, text: error }] : []),
  ];
  return renderPage({
    title: 'Sign in',
    assets,
    currentPath: '/sign-in',
    flash,
    children: (
      <>
        <form method="post" action="/sign-in" class="narrow-form">
          <input type="hidden" name="next" value={next ?? ''} />
          <TextField name="email" label="Email" type="email" required value={email} autocomplete="username" />
          <TextField
            name="password"
            label="Password"
            type="password"
            required
            autocomplete="current-password"
          />
          <Button>Sign in</Button>
        </form>
        <p>
          No account yet? <a href="/register">Ask for one</a>
        </p>
      </>
    ),
  });
}
