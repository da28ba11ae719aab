import type { Child } from 'hono/jsx';

export type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'link';

export type ButtonProps = {
  children: Child;
  variant?: ButtonVariant;
  type?: 'submit' | 'button' | 'reset';
  name?: string;
  value?: string;
  disabled?: boolean;
  id?: string;
  /** Extra classes, e.g. for a script hook. */
  class?: string;
  'aria-pressed'?: 'true' | 'false';
  'aria-controls'?: string;
};

const classes = (variant: ButtonVariant, extra?: string) =>
  ['button', `button-${variant}`, extra].filter(Boolean).join(' ');

/** A real `<button>` (submit by default, so forms work without JavaScript). */
export function Button({
  children,
  variant = 'primary',
  type = 'submit',
  class: extra,
  ...rest
}: ButtonProps) {
  return (
    <button type={type} class={classes(variant, extra)} {...rest}>
      {children}
    </button>
  );
}

/** A link that looks like a button (navigation, downloads) — a GET, never a state change. */
export function LinkButton({
  href,
  children,
  variant = 'secondary',
  download,
}: {
  href: string;
  children: Child;
  variant?: ButtonVariant;
  download?: string | boolean;
}) {
  return (
    <a href={href} class={classes(variant)} download={download === true ? '' : download || undefined}>
      {children}
    </a>
  );
}

/**
 * A POST form that is a single button (sign out, mark read, approve): works without JavaScript and
 * carries the CSRF token.
 */
export function ActionForm({
  action,
  csrfToken,
  children,
  variant = 'secondary',
  fields = {},
}: {
  action: string;
  csrfToken: string;
  children: Child;
  variant?: ButtonVariant;
  fields?: Record<string, string>;
}) {
  return (
    <form method="post" action={action} class="action-form">
      <input type="hidden" name="_csrf" value={csrfToken} />
      {Object.entries(fields).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <Button variant={variant}>{children}</Button>
    </form>
  );
}
