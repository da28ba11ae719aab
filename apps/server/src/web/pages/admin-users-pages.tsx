import { LINK_ROLES, linkRoleField, linkToRemoveField } from '../../access/farm-links.ts';
import { listFarms } from '../../access/farm-queries.ts';
import { addMember, removeMember } from '../../access/membership-queries.ts';
import { findUser, listUsers, logUnlinked, type UserRow, updateUser } from '../../access/user-queries.ts';
import { UUID_RE } from '../../api/request-validation.ts';
import {
  createUserAccount,
  type NewUserBody,
  resetUserPassword,
  userCreateSchema,
  userPatchSchema,
} from '../../api/users.ts';
import { ROLE_NAMES, type RoleName } from '../../auth/roles.ts';
import { ActionForm, Button } from '../components/button.tsx';
import { type Column, DataTable } from '../components/data-table.tsx';
import { CheckboxField, ErrorSummary, SelectField, TextField } from '../components/form-field.tsx';
import { LocalTime } from '../components/local-time.tsx';
import { CREATE_TOKEN_FIELD, createOnce, createTokenOf, newCreateToken } from './create-token.ts';
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
  presentTexts,
  readForm,
  redirectDone,
  sendPage,
  textOf,
  userOf,
  validated,
  valuesOf,
} from './page-kit.tsx';

const LABELS = {
  email: 'Email',
  full_name: 'Name',
  roles: 'Roles',
  password: 'Password',
  operator_code: 'Operator code',
  status: 'Status',
};
const FARM_LABELS = { farm_id: 'Farm', user_id: 'This user', is_owner: 'Owner', linked_as: 'Linked as' };
type Values = {
  email?: string;
  full_name?: string;
  roles?: string[];
  operator_code?: string;
  status?: string;
};
type FormState = { values: Values; errors: FieldErrors };
type UserState = {
  edit?: FormState;
  password?: FieldErrors;
  farm?: FormState & { values: { farm_id?: string; linked_as?: string } };
  /** An Unassign refused (no such link named, the last owner): shown above the farm list. */
  unassign?: FieldErrors;
};

function RoleBoxes({ checked, error }: { checked: readonly string[]; error?: string }) {
  return (
    <fieldset class={error ? 'field field-invalid' : 'field'}>
      <legend>Roles</legend>
      {error && (
        <p class="field-error" id="field-roles-error">
          {error}
        </p>
      )}
      {ROLE_NAMES.map((r) => (
        <CheckboxField
          id={`field-role-${r}`}
          name="roles"
          value={r}
          label={r}
          checked={checked.includes(r)}
        />
      ))}
    </fieldset>
  );
}

/**
 * Account administration (admins; the router refuses everyone else with 403): GET/POST /admin/users
 * (list, search, create with roles and a first password), GET/POST /admin/users/:id (name, roles,
 * status — disabling signs the user out everywhere; never the last admin — operator code),
 * POST /admin/users/:id/password (reset), POST /admin/users/:id/farms and …/farms/:farmId/remove (the
 * one link named by `linked_as`, as on the farm page).
 */
export function adminUserPages(app: PageRouter, deps: PageDeps) {
  const { sql, config } = deps;

  async function renderList(c: PageContext, create?: FormState) {
    const principal = userOf(c);
    const q = c.req.query('q')?.trim() || undefined;
    const role = ROLE_NAMES.find((r) => r === c.req.query('role'));
    const users = await listUsers(sql, { q, role });
    const columns: Column<UserRow>[] = [
      { header: 'Email', primary: true, cell: (u) => <a href={`/admin/users/${u.id}`}>{u.email}</a> },
      { header: 'Name', cell: (u) => u.full_name ?? '—' },
      { header: 'Roles', cell: (u) => u.roles.join(', ') },
      { header: 'Status', cell: (u) => u.status },
      { header: 'Farms', wideOnly: true, cell: (u) => u.farms.map((f) => f.name).join(', ') || '—' },
      {
        header: 'Last sign-in',
        wideOnly: true,
        cell: (u) => <LocalTime utc={u.last_sign_in_at} timeZone="UTC" zoneName />,
      },
    ];
    const v = create?.values ?? {};
    const errors = create?.errors ?? {};
    return sendPage(
      c,
      deps,
      {
        title: 'Users',
        children: (
          <>
            <p>
              <a href="/admin/registrations">Account requests →</a>
            </p>
            <form method="get" action="/admin/users" aria-label="Find users" class="filters">
              <TextField name="q" label="Email or name" type="search" value={q} />
              <SelectField
                name="role"
                label="Role"
                placeholder="Any role"
                value={role ?? ''}
                options={ROLE_NAMES.map((r) => ({ value: r, label: r }))}
              />
              <p>
                <Button>Find</Button>
              </p>
            </form>
            <DataTable id="users" caption="Users" captionHidden columns={columns} rows={users} />
            <section aria-labelledby="new-user-title">
              <h2 id="new-user-title">New user</h2>
              <form method="post" action="/admin/users" novalidate>
                <input type="hidden" name="_csrf" value={principal.csrfToken} />
                <input type="hidden" name={CREATE_TOKEN_FIELD} value={newCreateToken()} />
                <ErrorSummary errors={errors} fieldIds={{ roles: 'field-role-admin' }} />
                <TextField
                  name="email"
                  label={LABELS.email}
                  type="email"
                  required
                  value={v.email}
                  error={errors.email}
                />
                <TextField
                  name="full_name"
                  label={LABELS.full_name}
                  required
                  value={v.full_name}
                  error={errors.full_name}
                />
                <RoleBoxes checked={v.roles ?? ['farmer']} error={errors.roles} />
                <TextField
                  name="password"
                  label="First password"
                  type="password"
                  required
                  autocomplete="new-password"
                  error={errors.password}
                  hint="At least 12 characters, not the email, not a common password. Tell it to the person; they can change it."
                />
                <TextField
                  name="operator_code"
                  label={LABELS.operator_code}
                  value={v.operator_code}
                  error={errors.operator_code}
                  hint="The code technicians enter on the device (meta.json operator_id)"
                />
                <Button>Create user</Button>
              </form>
            </section>
          </>
        ),
      },
      create ? 422 : 200,
    );
  }

  async function renderUser(
    c: PageContext,
    id: string,
    state: UserState = {},
    status: 200 | 409 | 422 = 200,
  ) {
    const principal = userOf(c);
    const user = await findUser(sql, id);
    if (!user) throw pageNotFound();
    const farms = await listFarms(sql, principal);
    // The roles this user can be linked to a farm in: those of farmer and technician they hold.
    const linkRoles = LINK_ROLES.filter((r) => user.roles.includes(r));
    const edit = {
      values: {
        full_name: user.full_name ?? '',
        roles: user.roles,
        status: user.status,
        operator_code: user.operator_code ?? '',
        ...state.edit?.values,
      },
      errors: state.edit?.errors ?? {},
    };
    const farmForm = state.farm ?? { values: {}, errors: {} };
    const csrf = principal.csrfToken;
    return sendPage(
      c,
      deps,
      {
        title: user.email,
        children: (
          <>
            <Facts
              items={[
                ['Roles', user.roles.join(', ')],
                ['Status', user.status],
                ['Created', <LocalTime utc={user.created_at} timeZone="UTC" zoneName />],
                ['Last sign-in', <LocalTime utc={user.last_sign_in_at} timeZone="UTC" zoneName />],
              ]}
            />
            <h2>Account</h2>
            <form method="post" action={`/admin/users/${user.id}`} novalidate>
              <input type="hidden" name="_csrf" value={csrf} />
              <ErrorSummary errors={edit.errors} fieldIds={{ roles: 'field-role-admin' }} />
              <TextField
                name="full_name"
                label={LABELS.full_name}
                required
                value={edit.values.full_name}
                error={edit.errors.full_name}
              />
              <RoleBoxes checked={edit.values.roles ?? []} error={edit.errors.roles} />
              <SelectField
                name="status"
                label={LABELS.status}
                required
                value={edit.values.status}
                options={[
                  { value: 'active', label: 'active' },
                  { value: 'disabled', label: 'disabled (signed out everywhere, cannot sign in)' },
                ]}
                error={edit.errors.status}
              />
              <TextField
                name="operator_code"
                label={LABELS.operator_code}
                value={edit.values.operator_code}
                error={edit.errors.operator_code}
              />
              <Button>Save user</Button>
            </form>
            <h2>Reset password</h2>
            <form method="post" action={`/admin/users/${user.id}/password`} novalidate>
              <input type="hidden" name="_csrf" value={csrf} />
              <ErrorSummary errors={state.password ?? {}} />
              <TextField
                name="password"
                label="New password"
                type="password"
                required
                autocomplete="new-password"
                error={state.password?.password}
                hint="Every session of this user ends."
              />
              <Button variant="secondary">Reset password</Button>
            </form>
            <h2 id="user-farms">Farms</h2>
            <ErrorSummary
              errors={state.unassign ?? {}}
              fieldIds={{ _form: 'user-farms', linked_as: 'user-farms' }}
            />
            {user.farms.length === 0 ? (
              <p class="muted">Linked to no farm.</p>
            ) : (
              <ul>
                {user.farms.flatMap((f) =>
                  f.linked_as.map((role) => (
                    <li>
                      <a href={`/farms/${f.id}`}>{f.name}</a>
                      {` as ${role}${role === 'farmer' && f.is_owner ? ' (owner)' : ''} `}
                      <ActionForm
                        action={`/admin/users/${user.id}/farms/${f.id}/remove`}
                        csrfToken={csrf}
                        variant="link"
                        fields={{ linked_as: role }}
                      >
                        Unassign<span class="visually-hidden"> {`${f.name} as ${role}`}</span>
                      </ActionForm>
                    </li>
                  )),
                )}
              </ul>
            )}
            <form method="post" action={`/admin/users/${user.id}/farms`} novalidate>
              <input type="hidden" name="_csrf" value={csrf} />
              <ErrorSummary errors={farmForm.errors} fieldIds={{ _form: 'field-farm_id' }} />
              <SelectField
                name="farm_id"
                label="Assign a farm"
                required
                placeholder="Choose a farm"
                value={farmForm.values.farm_id ?? ''}
                options={farms
                  .filter((f) =>
                    linkRoles.some((r) => !user.farms.some((u) => u.id === f.id && u.linked_as.includes(r))),
                  )
                  .map((f) => ({ value: f.id, label: f.name }))}
                error={farmForm.errors.farm_id}
              />
              <SelectField
                name="linked_as"
                label="Linked as"
                required
                {...(linkRoles.length === 1 ? {} : { placeholder: 'Choose a role' })}
                value={farmForm.values.linked_as ?? (linkRoles.length === 1 ? linkRoles[0] : '')}
                options={linkRoles.map((r) => ({
                  value: r,
                  label: r === 'farmer' ? 'Farmer (reads)' : 'Technician (reads and writes)',
                }))}
                hint="The role the link is made in: taking that role from the user removes the link."
                error={farmForm.errors.linked_as}
              />
              <CheckboxField name="is_owner" label="Owner (farmers only)" error={farmForm.errors.is_owner} />
              <Button variant="secondary">Assign farm</Button>
            </form>
          </>
        ),
      },
      status,
    );
  }

  app.get('/admin/users', (c) => renderList(c));
  app.post('/admin/users', async (c) => {
    const form = await readForm(c);
    const values: Values = {
      email: textOf(form, 'email').trim(),
      full_name: textOf(form, 'full_name'),
      roles: valuesOf(form, 'roles'),
      operator_code: textOf(form, 'operator_code').trim(),
    };
    const body = {
      email: values.email ?? '',
      full_name: values.full_name ?? '',
      roles: values.roles as RoleName[],
      password: textOf(form, 'password'),
      ...(values.operator_code ? { operator_code: values.operator_code } : {}),
    };
    const claim = { form: 'user', userId: userOf(c).userId, token: createTokenOf(form) } as const;
    const done = await attempt(
      () =>
        createUserAccount(sql, config.auth, validated(userCreateSchema, body) as NewUserBody, (insert) =>
          createOnce(sql, claim, insert),
        ),
      LABELS,
    );
    if (!done.ok) return renderList(c, { values, errors: done.errors });
    return redirectDone(c, `/admin/users/${done.value}`, 'user-created');
  });

  app.get('/admin/users/:id', (c) => renderUser(c, idParam(c)));
  app.post('/admin/users/:id', async (c) => {
    const id = idParam(c);
    const form = await readForm(c);
    // A text or select field absent from the form keeps the user's (r18 F9); the role checkboxes are
    // read as a browser sends them (none ticked = no role, refused by the schema).
    const values: Values = {
      ...presentTexts(form, ['full_name', 'status', 'operator_code'] as const),
      roles: valuesOf(form, 'roles'),
    };
    const body = {
      ...(values.full_name !== undefined ? { full_name: values.full_name } : {}),
      roles: values.roles as RoleName[],
      ...(values.status !== undefined ? { status: values.status as 'active' | 'disabled' } : {}),
      ...(values.operator_code !== undefined ? { operator_code: values.operator_code.trim() || null } : {}),
    };
    const done = await attempt(async () => updateUser(sql, id, validated(userPatchSchema, body)), LABELS);
    if (!done.ok) return renderUser(c, id, { edit: { values, errors: done.errors } }, done.status);
    if (!done.value) throw pageNotFound();
    logUnlinked(deps.log, id, done.value.unlinkedFarms);
    return redirectDone(c, `/admin/users/${id}`, 'user-saved');
  });

  app.post('/admin/users/:id/password', async (c) => {
    const id = idParam(c);
    const password = textOf(await readForm(c), 'password');
    const user = await findUser(sql, id);
    if (!user) throw pageNotFound();
    const done = await attempt(() => resetUserPassword(deps, user, password), LABELS);
    if (!done.ok) return renderUser(c, id, { password: done.errors }, done.status);
    return redirectDone(c, `/admin/users/${id}`, 'password-reset');
  });

  app.post('/admin/users/:id/farms', async (c) => {
    const id = idParam(c);
    const form = await readForm(c);
    const farmId = textOf(form, 'farm_id');
    const linkedAs = textOf(form, 'linked_as');
    if (!(await findUser(sql, id))) throw pageNotFound();
    const done = await attempt(async () => {
      if (!UUID_RE.test(farmId)) throw emptyField('farm_id');
      const added = await addMember(sql, userOf(c), farmId, {
        userId: id,
        isOwner: textOf(form, 'is_owner') === 'on',
        linkedAs: linkRoleField(linkedAs),
      });
      if (!added) throw emptyField('farm_id', 'names no farm');
    }, FARM_LABELS);
    if (!done.ok) {
      const values = { farm_id: farmId, linked_as: linkedAs };
      return renderUser(c, id, { farm: { values, errors: done.errors } }, done.status);
    }
    return redirectDone(c, `/admin/users/${id}`, 'user-farm-added');
  });

  app.post('/admin/users/:id/farms/:farmId/remove', async (c) => {
    const id = idParam(c);
    const farmId = idParam(c, 'farmId');
    const linkedAs = textOf(await readForm(c), 'linked_as');
    const done = await attempt(
      async () => removeMember(sql, userOf(c), farmId, id, linkToRemoveField(linkedAs)),
      FARM_LABELS,
    );
    if (!done.ok) return renderUser(c, id, { unassign: done.errors }, done.status);
    if (!done.value) throw pageNotFound();
    return redirectDone(c, `/admin/users/${id}`, 'user-farm-removed');
  });
}
