import type { Child } from 'hono/jsx';

export type EmptyStateProps = {
  title: string;
  children?: Child;
  action?: { href: string; label: string };
};

/** What a list says when it has nothing to show, and what to do about it. */
export function EmptyState({ title, children, action }: EmptyStateProps) {
  return (
    <section class="empty-state" aria-label={title}>
      <p class="empty-title">{title}</p>
      {children && <div class="empty-body">{children}</div>}
      {action && (
        <p>
          <a class="button button-primary" href={action.href}>
            {action.label}
          </a>
        </p>
      )}
    </section>
  );
}
