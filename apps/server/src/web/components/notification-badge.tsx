/** The header's link to notifications, with the unread count in words for screen readers. */
export function NotificationBadge({
  unread,
  href = '/notifications',
  current = false,
}: {
  unread: number;
  href?: string;
  current?: boolean;
}) {
  const shown = unread > 99 ? '99+' : String(unread);
  return (
    <a href={href} class="notif-link" aria-current={current ? 'page' : undefined}>
      Notifications
      {unread > 0 ? (
        <>
          <span class="badge" aria-hidden="true">
            {shown}
          </span>
          <span class="visually-hidden">, {unread > 99 ? 'more than 99' : unread} unread</span>
        </>
      ) : null}
    </a>
  );
}
