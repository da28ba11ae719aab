import type { JSXNode } from 'hono/jsx';
import { Fragment, jsx } from 'hono/jsx';

// Minimal pages for the sign-in flows, written with hono/jsx's jsx() (Node's type stripping runs
// .ts, not .tsx, so tests and `node src/main.ts` render them unchanged). The dashboard's shared
// layout and stylesheet (src/web) will restyle them.

export type Child = JSXNode | string | number | null | undefined | false | Child[];
export const h = (tag: string, props: Record<string, unknown> | null, ...children: Child[]) =>
  jsx(tag, props ?? {}, ...(children as never[]));

/** A full HTML document: no inline script or style (the CSP forbids both). */
export function authPage({ title, csrfToken, body }: { title: string; csrfToken?: string; body: Child[] }) {
  return `<!doctype html>${h(
    'html',
    { lang: 'en' },
    h(
      'head',
      null,
      h('meta', { charset: 'utf-8' }),
      h('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
      csrfToken ? h('meta', { name: 'csrf-token', content: csrfToken }) : null,
      h('title', null, `${title} · CTI`),
    ),
    h('body', null, h('main', null, h('h1', null, title), ...body)),
  )}`;
}

/** A labelled input with its error, if any, beside it (aria-describedby). */
export function field({
  name,
  label,
  type = 'text',
  value,
  error,
  autocomplete,
  required = true,
}: {
  name: string;
  label: string;
  type?: string;
  value?: string | undefined;
  error?: string | undefined;
  autocomplete?: string;
  required?: boolean;
}) {
  const errorId = `${name}-error`;
  return h(
    'p',
    null,
    h('label', { for: name }, label),
    h('br', null),
    h('input', {
      id: name,
      name,
      type,
      value: type === 'password' ? undefined : value,
      required,
      autocomplete,
      'aria-invalid': error ? 'true' : undefined,
      'aria-describedby': error ? errorId : undefined,
    }),
    error ? h('span', { id: errorId, class: 'field-error', role: 'alert' }, ` ${error}`) : null,
  );
}

export const csrfField = (token: string) => h('input', { type: 'hidden', name: '_csrf', value: token });
export const notice = (text: string, role: 'alert' | 'status' = 'status') =>
  h('p', { role, class: `notice-${role}` }, text);
export { Fragment };
