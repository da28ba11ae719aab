import type { Child } from 'hono/jsx';
import { ActionForm } from './components/button.tsx';
import { FlashMessages } from './components/flash-messages.tsx';
import { NotificationBadge } from './components/notification-badge.tsx';
import { isCurrent, navFor } from './nav-items.ts';
import type { Flash, Viewer } from './view-types.ts';

/** What the layout needs from the static files: their versioned URLs (`createStaticAssets().url`). */
export type AssetUrls = { url(path: string): string };

export type LayoutProps = {
  /** The page's own title; the document title becomes "<title> · CTI". */
  title: string;
  assets: AssetUrls;
  /** The request path: marks the current section in the navigation. */
  currentPath: string;
  /** Signed-in person (navigation by role, sign-out); null/absent when signed out. */
  viewer?: Viewer | null;
  /**
   * The session's CSRF token: a hidden field in the sign-out form and `<meta name="csrf-token">`, where
   * page scripts (mask editor) read it to send as a header. Never a session token.
   */
  csrfToken?: string;
  /** Unread notifications: the badge in the header. */
  unreadNotifications?: number;
  /** Slot above the page content, e.g. <Announcements> on the home page. */
  announcements?: Child;
  flash?: readonly Flash[];
  /** Page scripts under /static (e.g. 'js/live-scans.js'), loaded as deferred modules after `js/submit-once.js`. */
  scripts?: readonly string[];
  /** The sign-out form's target. */
  signOutAction?: string;
  children?: Child;
};

/**
 * The one page layout: skip link, header (brand, navigation adapted to the viewer's roles, notification
 * badge, sign-out), flash messages, an announcements slot, main content, footer. No inline script or
 * style: every script is a static file, so the CSP can be `script-src 'self'`.
 *
 * @example c.html(<Layout title="Scans" assets={assets} currentPath={c.req.path} viewer={viewer}>…</Layout>)
 */
export function Layout(props: LayoutProps) {
  const {
    title,
    assets,
    currentPath,
    viewer,
    csrfToken,
    unreadNotifications = 0,
    announcements,
    flash = [],
    scripts = [],
  } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light" />
        <title>{`${title} · CTI`}</title>
        <link rel="stylesheet" href={assets.url('app.css')} />
        <link rel="icon" href={assets.url('favicon.svg')} type="image/svg+xml" />
        {csrfToken && <meta name="csrf-token" content={csrfToken} />}
        {/* Every page: a POST form is sent once per press (double-clicks), see static/js/submit-once.js. */}
        {['js/submit-once.js', ...scripts].map((s) => (
          <script type="module" src={assets.url(s)} />
        ))}
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to main content
        </a>
        <header class="site-header">
          <a class="brand" href="/">
            CTI <span class="brand-sub">carcass imaging</span>
          </a>
          {viewer ? (
            <SignedInNav {...props} viewer={viewer} unread={unreadNotifications} />
          ) : (
            <SignedOutNav currentPath={currentPath} />
          )}
        </header>
        <main id="main" tabindex={-1}>
          <FlashMessages messages={flash} />
          {announcements}
          <h1>{title}</h1>
          {props.children}
        </main>
        <footer class="site-footer">
          <p>Times are shown in each farm's local time; exports are in UTC.</p>
          {viewer && <p>Signed in as {viewer.email}</p>}
        </footer>
      </body>
    </html>
  );
}

function SignedInNav({
  viewer,
  currentPath,
  csrfToken,
  unread,
  signOutAction = '/sign-out',
}: LayoutProps & { viewer: Viewer; unread: number }) {
  return (
    <>
      <nav class="site-nav" aria-label="Main">
        <ul>
          {navFor(viewer.roles).map((item) => (
            <li>
              <a href={item.href} aria-current={isCurrent(item.href, currentPath) ? 'page' : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="site-user">
        <NotificationBadge unread={unread} current={isCurrent('/notifications', currentPath)} />
        <a href="/account" aria-current={isCurrent('/account', currentPath) ? 'page' : undefined}>
          {viewer.name}
        </a>
        {csrfToken && (
          <ActionForm action={signOutAction} csrfToken={csrfToken} variant="link">
            Sign out
          </ActionForm>
        )}
      </div>
    </>
  );
}

function SignedOutNav({ currentPath }: { currentPath: string }) {
  return (
    <nav class="site-nav" aria-label="Main">
      <ul>
        <li>
          <a href="/sign-in" aria-current={currentPath === '/sign-in' ? 'page' : undefined}>
            Sign in
          </a>
        </li>
        <li>
          <a href="/register" aria-current={currentPath === '/register' ? 'page' : undefined}>
            Ask for an account
          </a>
        </li>
      </ul>
    </nav>
  );
}

/** A full HTML document string with the doctype, for `c.html()`. */
export function renderPage(props: LayoutProps): string {
  return `<!doctype html>${String(Layout(props))}`;
}
