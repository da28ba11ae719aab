import { Hono } from 'hono';
import { BADGE_COUNT_LIMIT, unreadCount } from '../../access/notification-queries.ts';
import type { ApiDeps } from '../../api/api-deps.ts';
import { HttpError } from '../../errors.ts';
import {
  loadNotificationSettings,
  type NotificationSettings,
  saveNotificationSettings,
} from '../../notifications/notification-settings.ts';
import { isNotificationType, type NotificationType } from '../../notifications/notification-types.ts';
import { isTypedName, normalizeTypedName, TYPED_NAME_RULE, typedNameFault } from '../../text/typed-name.ts';
import type { AssetUrls } from '../../web/layout.tsx';
import { flashFrom } from '../../web/pages/flash.ts';
import { clientAddress } from '../client-address.ts';
import { checkCsrfField } from '../csrf-protection.ts';
import { loadCurrentUser } from '../current-user.ts';
import { changePassword } from '../password-change.ts';
import type { AuthVariables, Principal } from '../principal.ts';
import { requestRegistration } from '../registration.ts';
import { endSession, replaceSession } from '../session-start.ts';
import { accountPage } from './account-page.tsx';
import { registrationPage } from './registration-page.tsx';
import { signInPage } from './sign-in-page.tsx';

/** Where to go after sign-in when no (safe) `next` was given: the dashboard's overview. */
export const HOME_PATH = '/';

/**
 * Only local paths: never `//host` or `/\host`, which browsers treat as another origin, and nothing a
 * `Location` header cannot carry — no space or control character (C0, DEL, C1: Node refuses them in a
 * header, which made the sign-in a 500), no lone surrogate. Other non-ASCII characters are
 * percent-encoded (UTF-8), so the header stays ASCII.
 */
export const safeNext = (next: unknown): string =>
  typeof next === 'string' && next.isWellFormed() && /^\/(?![/\\])[^\s\p{Cc}]*$/u.test(next)
    ? next.replace(/[^\x21-\x7e]+/gu, encodeURIComponent)
    : HOME_PATH;

/** Every text value of a (repeated) form field. */
const all = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');

const text = (form: Record<string, unknown>, name: string): string => {
  const v = form[name];
  return typeof v === 'string' ? v : '';
};

/** "; it contains U+00AD (soft hyphen) at position 4: remove it" when `name` breaks the typed-name rule. */
const faultOf = (name: string): string => {
  const fault = typedNameFault(name);
  return fault ? `; ${fault}` : '';
};

/** Problems of an HttpError as `field → message` for the form (pointer '/new_password' → 'new_password'). */
function fieldErrors(err: HttpError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const p of err.problems ?? []) {
    const name = p.pointer.replace(/^\//, '').split('/')[0] || '_form';
    errors[name] ??= `This ${name.replace(/_/g, ' ')} ${p.message}.`;
  }
  if (Object.keys(errors).length === 0) errors._form = err.message;
  return errors;
}

/**
 * Sign-in, registration, account (name, password) and sign-out pages: plain HTML forms that work
 * without JavaScript (POST, then 303 redirect or the form again with errors beside the fields).
 * Signed-in forms carry the session's CSRF token in `_csrf`; all are behind the Origin check.
 */
export function createAuthPageRoutes(
  deps: ApiDeps & { assets: AssetUrls },
): Hono<{ Variables: AuthVariables }> {
  const { sql, config, sessions, signIn, throttle, assets } = deps;
  const auth = { sessions, config: config.auth };
  const app = new Hono<{ Variables: AuthVariables }>();
  const html = (body: string, status: 200 | 401 | 422 | 429 | 403 = 200) =>
    new Response(body, {
      status,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    });

  app.get('/sign-in', (c) => {
    if (c.get('principal')) return c.redirect(safeNext(c.req.query('next')), 303);
    return html(
      signInPage({
        assets,
        next: c.req.query('next'),
        info: c.req.query('signed_out') ? 'You are signed out.' : undefined,
      }),
    );
  });

  app.post('/sign-in', async (c) => {
    const form = await c.req.parseBody();
    const email = text(form, 'email');
    try {
      const { session } = await signIn({
        email,
        password: text(form, 'password'),
        address: clientAddress(c, config.auth.trustProxyHops),
        userAgent: c.req.header('user-agent'),
      });
      await replaceSession(c, auth, session);
      return c.redirect(safeNext(text(form, 'next')), 303);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 401 && err.status !== 429)) throw err;
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      const message = err.status === 429 ? err.message : 'The email or the password is wrong.';
      const res = html(signInPage({ assets, email, next: text(form, 'next'), error: message }), err.status);
      for (const [k, v] of Object.entries(err.headers)) res.headers.set(k, v);
      return res;
    }
  });

  app.post('/sign-out', async (c) => {
    const principal = c.get('principal');
    if (principal) checkCsrfField((await c.req.parseBody())._csrf, principal.csrfToken);
    await endSession(c, auth);
    return c.redirect('/sign-in?signed_out=1', 303);
  });

  app.get('/register', () => html(registrationPage({ assets })));

  app.post('/register', async (c) => {
    const form = await c.req.parseBody();
    const values = {
      email: text(form, 'email').trim(),
      full_name: normalizeTypedName(text(form, 'full_name')),
      requested_role: text(form, 'requested_role'),
      message: text(form, 'message'),
    };
    const errors: Record<string, string> = {};
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email) || values.email.length > 254)
      errors.email = 'Enter a valid email address.';
    if (values.full_name.length < 1 || [...values.full_name].length > 200 || !isTypedName(values.full_name))
      errors.full_name = `Enter your name: up to 200 characters ${TYPED_NAME_RULE}${faultOf(values.full_name)}.`;
    if (values.requested_role !== 'farmer' && values.requested_role !== 'technician')
      errors.requested_role = 'Choose farmer or technician.';
    if (values.message.length > 1000) errors.message = 'At most 1000 characters.';
    if (Object.keys(errors).length > 0) return html(registrationPage({ assets, values, errors }), 422);
    try {
      await requestRegistration(
        sql,
        config.auth,
        {
          ...values,
          requested_role: values.requested_role as 'farmer' | 'technician',
          password: text(form, 'password'),
        },
        { address: clientAddress(c, config.auth.trustProxyHops) },
      );
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 422 && err.status !== 429)) throw err;
      const res = html(registrationPage({ assets, values, errors: fieldErrors(err) }), err.status);
      for (const [k, v] of Object.entries(err.headers)) res.headers.set(k, v);
      return res;
    }
    return html(registrationPage({ assets, done: true }));
  });

  // The account page for `principal`, with errors beside the fields after a failed POST.
  const account = async (
    principal: Principal,
    extra: { errors?: Record<string, string>; done?: string } = {},
  ) =>
    accountPage({
      assets,
      user: await loadCurrentUser(sql, principal),
      notifications: await loadNotificationSettings(sql, principal.userId),
      csrfToken: principal.csrfToken,
      unread: await unreadCount(sql, principal, { atMost: BADGE_COUNT_LIMIT }),
      errors: extra.errors,
      flash: flashFrom(extra.done),
    });

  app.get('/account', async (c) => {
    const principal = c.get('principal');
    if (!principal) return c.redirect('/sign-in?next=/account', 303);
    return html(await account(principal, { done: c.req.query('done') }));
  });

  app.post('/account', async (c) => {
    const principal = c.get('principal');
    if (!principal) return c.redirect('/sign-in?next=/account', 303);
    const form = await c.req.parseBody();
    checkCsrfField(form._csrf, principal.csrfToken);
    const name = normalizeTypedName(text(form, 'full_name'));
    if (name.length < 1 || [...name].length > 200 || !isTypedName(name)) {
      return html(
        await account(principal, {
          errors: { full_name: `Enter a name of 1–200 characters ${TYPED_NAME_RULE}${faultOf(name)}.` },
        }),
        422,
      );
    }
    await sql`UPDATE users SET full_name = ${name}, updated_at = now() WHERE id = ${principal.userId}`;
    return c.redirect('/account?done=name-saved', 303);
  });

  // Notification settings: every `shown` type is set to whether its `enabled` box came ticked (an
  // unticked box is not sent). A name that is no notification type refuses the whole form, unsaved.
  app.post('/account/notifications', async (c) => {
    const principal = c.get('principal');
    if (!principal) return c.redirect('/sign-in?next=/account', 303);
    const form = await c.req.parseBody({ all: true });
    checkCsrfField(all(form._csrf)[0], principal.csrfToken);
    const enabled = all(form.enabled);
    const named = [...new Set([...all(form.shown), ...enabled])];
    const unknown = named.filter((t) => !isNotificationType(t));
    if (unknown.length > 0 || named.length === 0) {
      const error =
        unknown.length > 0
          ? `Not a notification type: ${unknown.map((t) => JSON.stringify(t.slice(0, 64))).join(', ')}. Nothing was saved.`
          : 'The form named no notification type. Nothing was saved.';
      return html(await account(principal, { errors: { notifications: error } }), 422);
    }
    const changes = Object.fromEntries(
      (named as NotificationType[]).map((t) => [t, enabled.includes(t)]),
    ) as Partial<NotificationSettings>;
    await saveNotificationSettings(sql, principal.userId, changes);
    return c.redirect('/account?done=notifications-saved', 303);
  });

  app.post('/account/password', async (c) => {
    const principal = c.get('principal');
    if (!principal) return c.redirect('/sign-in?next=/account', 303);
    const form = await c.req.parseBody();
    checkCsrfField(form._csrf, principal.csrfToken);
    try {
      const session = await changePassword({ sql, config: config.auth, sessions, throttle }, principal, {
        current: text(form, 'current_password'),
        next: text(form, 'new_password'),
        address: clientAddress(c, config.auth.trustProxyHops),
        userAgent: c.req.header('user-agent'),
      });
      c.set('principal', undefined);
      await replaceSession(c, auth, session);
      return c.redirect('/account?done=password-changed', 303);
    } catch (err) {
      if (!(err instanceof HttpError) || (err.status !== 422 && err.status !== 429)) throw err;
      return html(await account(principal, { errors: fieldErrors(err) }), err.status === 429 ? 429 : 422);
    }
  });

  return app;
}
