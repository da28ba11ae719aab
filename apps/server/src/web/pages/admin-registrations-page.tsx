import { listFarms } from '../../access/farm-queries.ts';
import {
  approveRegistration,
  listRegistrations,
  type RegistrationRow,
  rejectRegistration,
} from '../../access/registration-queries.ts';
import { UUID_RE } from '../../api/request-validation.ts';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { CheckboxField, SelectField, TextAreaField } from '../components/form-field.tsx';
import { LocalTime } from '../components/local-time.tsx';
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
type Failed = { id: string; form: 'approve' | 'reject'; values: Record<string, string>; errors: FieldErrors };

/**
 * Account requests (admins): GET /admin/registrations (pending first), POST …/:id/approve (the
 * account is created with the requested or chosen role — never admin — and, optionally, a farm),
 * POST …/:id/reject (a reason is required and kept).
 */
export function adminRegistrationPages(app: PageRouter, deps: PageDeps) {
  const { sql } = deps;

  async function render(c: PageContext, failed?: Failed, status: 200 | 409 | 422 = 200) {
    const principal = userOf(c);
    const shown = STATUSES.find((s) => s === (c.req.query('status') ?? 'pending'));
    const [requests, farms] = await Promise.all([listRegistrations(sql, shown), listFarms(sql, principal)]);
    const csrf = principal.csrfToken;
    return sendPage(
      c,
      deps,
      {
        title: 'Account requests',
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

  app.post('/admin/registrations/:id/approve', async (c) => {
    const id = idParam(c);
    const form = await readForm(c);
    const values = {
      role: textOf(form, 'role'),
      farm_id: textOf(form, 'farm_id'),
      is_owner: textOf(form, 'is_owner'),
    };
    const done = await attempt(async () => {
      if (values.role !== 'farmer' && values.role !== 'technician') throw emptyField('role');
      if (values.farm_id && !UUID_RE.test(values.farm_id)) throw emptyField('farm_id', 'names no farm');
      const farms = values.farm_id ? [{ farm_id: values.farm_id, is_owner: values.is_owner === 'on' }] : [];
      return approveRegistration(sql, userOf(c).userId, id, { role: values.role, farms });
    }, LABELS);
    if (!done.ok) return render(c, { id, form: 'approve', values, errors: done.errors }, done.status);
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
            {approve?.errors._form && <p class="field-error">{approve.errors._form}</p>}
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
