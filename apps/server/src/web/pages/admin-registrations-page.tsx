import { listFarms } from '../../access/farm-queries.ts';
import {
  approveRegistration,
  findRegistration,
  listRegistrations,
  type RegistrationRow,
  rejectRegistration,
} from '../../access/registration-queries.ts';
import { UUID_RE } from '../../api/request-validation.ts';
import { normalizeEmail } from '../../auth/user-accounts.ts';
import { HttpError } from '../../errors.ts';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { CheckboxField, SelectField, TextAreaField } from '../components/form-field.tsx';
import { LocalTime } from '../components/local-time.tsx';
import type { Flash } from '../view-types.ts';
import {
  attempt,
  emptyField,
  Facts,
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
} from './page-kit.tsx';

const LABELS = { reason: 'Reason', role: 'Role', farms: 'Farm', farm_id: 'Farm', is_owner: 'Owner' };
const STATUSES = ['pending', 'approved', 'rejected'] as const;
type Failed = {
  id: string;
  form: 'approve' | 'reject';
  values: Record<string, string>;
  errors: FieldErrors;
  /** The account that already holds the request's email (approve refused): linked beside the error. */
  existingUser?: string;
};
type Decision = 'approved' | 'rejected';

/**
 * Account requests (admins): GET /admin/registrations (pending first), POST …/:id/approve (the
 * account is created with the requested or chosen role — never admin — and, optionally, a farm),
 * POST …/:id/reject (a reason is required and kept).
 */
export function adminRegistrationPages(app: PageRouter, deps: PageDeps) {
  const { sql } = deps;

  async function render(
    c: PageContext,
    failed?: Failed,
    status: 200 | 409 | 422 = 200,
    flash: readonly Flash[] = [],
  ) {
    const principal = userOf(c);
    const shown = STATUSES.find((s) => s === (c.req.query('status') ?? 'pending'));
    const [requests, farms] = await Promise.all([listRegistrations(sql, shown), listFarms(sql, principal)]);
    const csrf = principal.csrfToken;
    return sendPage(
      c,
      deps,
      {
        title: 'Account requests',
        flash,
        children: (
          <>
            <nav aria-label="Request status">
              <ul class="inline-list">
                {STATUSES.map((s) => (
                  <li>
                    <a
                      href={`/admin/registrations?status=${s}`}
                      aria-current={s === shown ? 'page' : undefined}
                    >
                      {s}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            {requests.length === 0 && <EmptyState title={`No ${shown} requests`} />}
            {requests.map((r) => (
              <Request
                request={r}
                farms={farms}
                csrf={csrf}
                failed={failed?.id === r.id ? failed : undefined}
              />
            ))}
          </>
        ),
      },
      status,
    );
  }

  app.get('/admin/registrations', (c) => render(c));

  /**
   * A request decided meanwhile (a double submit, another admin) is no longer in the pending list, so
   * the refusal is said at the top of the page: who decided what, and when (review r18 F1). The same
   * admin sending the same decision again gets the answer of the first (idempotent double submit).
   */
  async function alreadyDecided(c: PageContext, id: string, wanted: Decision) {
    const r = await findRegistration(sql, id);
    if (!r || r.status === 'pending') return undefined;
    if (r.status === wanted && r.decided_by === userOf(c).userId)
      return redirectDone(c, '/admin/registrations', `registration-${wanted}`);
    const [by] = r.decided_by
      ? await sql<{ name: string }[]>`
          SELECT coalesce(nullif(btrim(full_name), ''), email) AS name FROM users WHERE id = ${r.decided_by}`
      : [];
    const at = r.decided_at ? ` at ${r.decided_at.slice(0, 16).replace('T', ' ')} UTC` : '';
    const reason = r.decision_reason ? ` (reason: ${r.decision_reason})` : '';
    const text = `Nothing was done: the request from ${r.email} was already ${r.status} by ${by?.name ?? 'an admin'}${at}${reason}.`;
    return render(c, undefined, 409, [{ kind: 'error', text }]);
  }

  /** Approving a request whose email became an account meanwhile: say whose, and the ways out (F2). */
  async function emailTaken(id: string) {
    const r = await findRegistration(sql, id);
    const [user] = r
      ? await sql<{ id: string }[]>`SELECT id FROM users WHERE email = ${normalizeEmail(r.email)}`
      : [];
    const err = new HttpError(
      409,
      'email_taken',
      `an account with this email exists: ${r?.email ?? 'this one'}. Reject this request, or link that account to a farm on its user page`,
    );
    return { err, existingUser: user?.id };
  }

  app.post('/admin/registrations/:id/approve', async (c) => {
    const id = idParam(c);
    const form = await readForm(c);
    const values = {
      role: textOf(form, 'role'),
      farm_id: textOf(form, 'farm_id'),
      is_owner: textOf(form, 'is_owner'),
    };
    let existingUser: string | undefined;
    const done = await attempt(async () => {
      if (values.role !== 'farmer' && values.role !== 'technician') throw emptyField('role');
      if (values.farm_id && !UUID_RE.test(values.farm_id)) throw emptyField('farm_id', 'names no farm');
      const farms = values.farm_id ? [{ farm_id: values.farm_id, is_owner: values.is_owner === 'on' }] : [];
      try {
        return await approveRegistration(sql, userOf(c).userId, id, { role: values.role, farms });
      } catch (err) {
        if (!(err instanceof HttpError) || err.code !== 'email_taken') throw err;
        const taken = await emailTaken(id);
        existingUser = taken.existingUser;
        throw taken.err;
      }
    }, LABELS);
    if (!done.ok && done.status === 409) {
      const decided = await alreadyDecided(c, id, 'approved');
      if (decided) return decided;
    }
    if (!done.ok)
      return render(c, { id, form: 'approve', values, errors: done.errors, existingUser }, done.status);
    if (!done.value) throw pageNotFound();
    return redirectDone(c, '/admin/registrations', 'registration-approved');
  });

  app.post('/admin/registrations/:id/reject', async (c) => {
    const id = idParam(c);
    const values = { reason: textOf(await readForm(c), 'reason') };
    const done = await attempt(async () => {
      if (!values.reason.trim())
        throw emptyField('reason', 'must not be empty: say why, the person will be told');
      if (values.reason.length > 1000) throw emptyField('reason', 'must be at most 1000 characters long');
      return rejectRegistration(sql, userOf(c).userId, id, values.reason);
    }, LABELS);
    if (!done.ok && done.status === 409) {
      const decided = await alreadyDecided(c, id, 'rejected');
      if (decided) return decided;
    }
    if (!done.ok) return render(c, { id, form: 'reject', values, errors: done.errors }, done.status);
    if (!done.value) throw pageNotFound();
    return redirectDone(c, '/admin/registrations', 'registration-rejected');
  });
}

function Request({
  request: r,
  farms,
  csrf,
  failed,
}: {
  request: RegistrationRow;
  farms: readonly { id: string; name: string }[];
  csrf: string;
  failed?: Failed;
}) {
  const approve = failed?.form === 'approve' ? failed : undefined;
  const reject = failed?.form === 'reject' ? failed : undefined;
  const idFor = (name: string) => `${name}-${r.id}`;
  return (
    <article class="card registration" aria-labelledby={idFor('title')}>
      <h2 id={idFor('title')}>
        {r.full_name} <span class="muted">{r.email}</span>
      </h2>
      <Facts
        items={[
          ['Asks to be', r.requested_role],
          ['Asked', <LocalTime utc={r.created_at} timeZone="UTC" zoneName />],
          ['Message', r.message ?? '—'],
          ['Status', r.status],
          ...(r.decision_reason ? ([['Reason', r.decision_reason]] as [string, string][]) : []),
        ]}
      />
      {r.status === 'pending' && (
        <div class="decision">
          <form method="post" action={`/admin/registrations/${r.id}/approve`} novalidate>
            <input type="hidden" name="_csrf" value={csrf} />
            {approve?.errors._form && (
              <p class="field-error" role="alert">
                {approve.errors._form}
                {approve.existingUser && (
                  <>
                    {' '}
                    <a href={`/admin/users/${approve.existingUser}`}>Open that account</a>
                  </>
                )}
              </p>
            )}
            <SelectField
              id={idFor('role')}
              name="role"
              label="Role"
              required
              value={approve?.values.role ?? r.requested_role}
              options={[
                { value: 'farmer', label: 'farmer' },
                { value: 'technician', label: 'technician' },
              ]}
              error={approve?.errors.role}
            />
            <SelectField
              id={idFor('farm')}
              name="farm_id"
              label="Link to a farm"
              placeholder="No farm yet"
              value={approve?.values.farm_id ?? ''}
              options={farms.map((f) => ({ value: f.id, label: f.name }))}
              error={approve?.errors.farm_id ?? approve?.errors.farms}
            />
            <CheckboxField
              id={idFor('owner')}
              name="is_owner"
              label="Owner of that farm (farmers only)"
              error={approve?.errors.is_owner}
            />
            <Button>Approve</Button>
          </form>
          <form method="post" action={`/admin/registrations/${r.id}/reject`} novalidate>
            <input type="hidden" name="_csrf" value={csrf} />
            <TextAreaField
              id={idFor('reason')}
              name="reason"
              label="Reason for rejecting"
              required
              rows={2}
              maxlength={1000}
              value={reject?.values.reason}
              error={reject?.errors.reason ?? reject?.errors._form}
            />
            <Button variant="danger">Reject</Button>
          </form>
        </div>
      )}
    </article>
  );
}
