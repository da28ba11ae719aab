import {
  type AnnouncementInput,
  createAnnouncement,
  deleteAnnouncement,
  findAnnouncement,
  listAnnouncements,
  updateAnnouncement,
} from '../../access/announcement-queries.ts';
import { announcementCreateSchema } from '../../api/announcements.ts';
import { safeHtml } from '../../text/safe-markdown.ts';
import { Announcements } from '../components/announcements.tsx';
import { ActionForm, Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { ErrorSummary, SelectField, TextAreaField, TextField } from '../components/form-field.tsx';
import { LocalTime } from '../components/local-time.tsx';
import { utcOfLocal } from '../time/format-local.ts';
import {
  CREATE_TOKEN_FIELD,
  createdIdFrom,
  createOnce,
  createTokenOf,
  newCreateToken,
} from './create-token.ts';
import {
  attempt,
  emptyField,
  type FieldErrors,
  idParam,
  type PageContext,
  type PageDeps,
  type PageRouter,
  pageNotFound,
  readForm,
  redirectDone,
  sendPage,
  textOf,
  userOf,
  validated,
} from './page-kit.tsx';

const LABELS = {
  title: 'Title',
  body: 'Text',
  format: 'Format',
  published_at: 'Published',
  expires_at: 'Show until',
};
type Values = { title?: string; body?: string; format?: string; expires_at?: string };

/**
 * A `datetime-local` value read as UTC (the form says so) → RFC 3339, '' → null. Read by utcOfLocal,
 * which refuses a day or hour that does not exist (2027-02-30, 24:00) instead of rolling it over into
 * the next month or day as `new Date()` does (review r18 F8).
 */
function utcInstant(local: string): string | null {
  if (!local.trim()) return null;
  const utc = utcOfLocal(local.trim(), 'UTC');
  if (utc === undefined)
    throw emptyField(
      'expires_at',
      'must be a date and time that exists, such as 2027-03-01T10:00 (a day of that month, hours 00–23)',
    );
  return utc;
}

/**
 * Announcements (admins): GET /admin/announcements (every one, with its state and how it will look),
 * POST /admin/announcements (title, text, plain or Markdown — rendered without raw HTML — and an end),
 * POST …/:id/expire (ends it now), POST …/:id/delete.
 */
export function adminAnnouncementPages(app: PageRouter, deps: PageDeps) {
  const { sql } = deps;

  async function render(
    c: PageContext,
    create?: { values: Values; errors: FieldErrors },
    status: 409 | 422 = 422,
  ) {
    const principal = userOf(c);
    const all = await listAnnouncements(sql, { all: true });
    const now = Date.now();
    const state = (a: (typeof all)[number]) =>
      Date.parse(a.published_at) > now
        ? 'scheduled'
        : a.expires_at && Date.parse(a.expires_at) <= now
          ? 'expired'
          : 'shown on the home page';
    const v = create?.values ?? { format: 'markdown' };
    const errors = create?.errors ?? {};
    return sendPage(
      c,
      deps,
      {
        title: 'Announcements',
        children: (
          <>
            <section aria-labelledby="new-announcement-title">
              <h2 id="new-announcement-title">New announcement</h2>
              <form method="post" action="/admin/announcements" novalidate>
                <input type="hidden" name="_csrf" value={principal.csrfToken} />
                <input type="hidden" name={CREATE_TOKEN_FIELD} value={newCreateToken()} />
                <ErrorSummary errors={errors} />
                <TextField
                  name="title"
                  label={LABELS.title}
                  required
                  value={v.title}
                  error={errors.title}
                  maxlength={200}
                />
                <TextAreaField
                  name="body"
                  label={LABELS.body}
                  required
                  rows={6}
                  value={v.body}
                  error={errors.body}
                  hint="Markdown: **bold**, *italic*, lists, [links](https://…). HTML is shown as text, never run."
                />
                <SelectField
                  name="format"
                  label={LABELS.format}
                  required
                  value={v.format}
                  options={[
                    { value: 'markdown', label: 'Markdown' },
                    { value: 'plain', label: 'Plain text' },
                  ]}
                  error={errors.format}
                />
                <TextField
                  name="expires_at"
                  label="Show until (UTC)"
                  type="datetime-local"
                  value={v.expires_at}
                  error={errors.expires_at}
                  hint="Empty: until expired by hand"
                />
                <Button>Publish</Button>
              </form>
            </section>
            <h2>All announcements</h2>
            {all.length === 0 && <EmptyState title="No announcements yet" />}
            {all.map((a) => (
              <article class="card" aria-label={a.title}>
                <p class="muted">
                  {state(a)} · published <LocalTime utc={a.published_at} timeZone="UTC" zoneName />
                  {a.expires_at && (
                    <>
                      {' '}
                      · until <LocalTime utc={a.expires_at} timeZone="UTC" zoneName />
                    </>
                  )}
                </p>
                <Announcements
                  timeZone="UTC"
                  items={[
                    {
                      id: a.id,
                      title: a.title,
                      body: a.body,
                      publishedAt: a.published_at,
                      safeHtml: safeHtml(a.body, a.format),
                    },
                  ]}
                />
                <div class="actions">
                  {state(a) === 'shown on the home page' && (
                    <ActionForm
                      action={`/admin/announcements/${a.id}/expire`}
                      csrfToken={principal.csrfToken}
                    >
                      Expire now<span class="visually-hidden">: {a.title}</span>
                    </ActionForm>
                  )}
                  <ActionForm
                    action={`/admin/announcements/${a.id}/delete`}
                    csrfToken={principal.csrfToken}
                    variant="danger"
                  >
                    Delete<span class="visually-hidden">: {a.title}</span>
                  </ActionForm>
                </div>
              </article>
            ))}
          </>
        ),
      },
      create ? status : 200,
    );
  }

  app.get('/admin/announcements', (c) => render(c));

  app.post('/admin/announcements', async (c) => {
    const form = await readForm(c);
    const values: Values = {
      title: textOf(form, 'title'),
      body: textOf(form, 'body'),
      format: textOf(form, 'format'),
      expires_at: textOf(form, 'expires_at'),
    };
    const done = await attempt(async () => {
      const input = validated(announcementCreateSchema, {
        title: values.title ?? '',
        body: values.body ?? '',
        format: values.format as AnnouncementInput['format'],
        expires_at: utcInstant(values.expires_at ?? ''),
      });
      const by = userOf(c).userId;
      const claim = { form: 'announcement', userId: by, token: createTokenOf(form) } as const;
      return createOnce(sql, claim, (tx) => createAnnouncement(tx, by, input, createdIdFrom(form, by)));
    }, LABELS);
    if (!done.ok) return render(c, { values, errors: done.errors }, done.status);
    return redirectDone(c, '/admin/announcements', 'announcement-created');
  });

  app.post('/admin/announcements/:id/expire', async (c) => {
    const id = idParam(c);
    await readForm(c);
    const a = await findAnnouncement(sql, id);
    if (!a) throw pageNotFound();
    // Ends now — or at its publication if scheduled in the future (the window must stay positive).
    const at = new Date(Math.max(Date.now(), Date.parse(a.published_at) + 1)).toISOString();
    await updateAnnouncement(sql, id, { expires_at: at });
    return redirectDone(c, '/admin/announcements', 'announcement-expired');
  });

  app.post('/admin/announcements/:id/delete', async (c) => {
    const id = idParam(c);
    await readForm(c);
    if (!(await deleteAnnouncement(sql, id))) throw pageNotFound();
    return redirectDone(c, '/admin/announcements', 'announcement-deleted');
  });
}
