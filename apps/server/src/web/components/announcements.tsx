import { raw } from 'hono/html';
import type { Announcement } from '../view-types.ts';
import { LocalTime } from './local-time.tsx';

/**
 * Admin announcements on the home page. The body is plain text: blank lines make paragraphs, and
 * whatever it contains (tags, scripts) is escaped — never rendered as HTML. Only `safeHtml` (the
 * sanitiser's output, a distinct type) is inserted as markup.
 */
export function Announcements({ items, timeZone }: { items: readonly Announcement[]; timeZone: string }) {
  if (items.length === 0) return null;
  return (
    <section class="announcements" aria-labelledby="announcements-title">
      <h2 id="announcements-title">Announcements</h2>
      {items.map((a) => (
        <article class="announcement">
          <h3>{a.title}</h3>
          <p class="muted">
            <LocalTime utc={a.publishedAt} timeZone={timeZone} style="date" />
          </p>
          {a.safeHtml ? (
            <div class="announcement-body">{raw(a.safeHtml.sanitised)}</div>
          ) : (
            a.body
              .split(/\n\s*\n/)
              .filter((p) => p.trim())
              .map((p) => <p>{p.trim()}</p>)
          )}
        </article>
      ))}
    </section>
  );
}
