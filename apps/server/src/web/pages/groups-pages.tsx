import type { TransactionSql } from 'postgres';
import { listAnimals } from '../../access/animal-queries.ts';
import { listFarms } from '../../access/farm-queries.ts';
import {
  addGroupAnimal,
  createGroup,
  deleteGroup,
  findGroup,
  type GroupInput,
  type GroupRow,
  listGroups,
  removeGroupAnimal,
  updateGroup,
} from '../../access/group-queries.ts';
import { groupCreateSchema, groupPatchSchema } from '../../api/groups.ts';
import { UUID_RE } from '../../api/request-validation.ts';
import { canonicalUuid } from '../../text/uuid.ts';
import { ActionForm, Button } from '../components/button.tsx';
import { type Column, DataTable } from '../components/data-table.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { ErrorSummary, SelectField, TextField } from '../components/form-field.tsx';
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
} from './page-kit.tsx';

const LABELS = { farm_id: 'Farm', name: 'Name', birth_date_from: 'Born from', birth_date_to: 'Born until' };
const ADD_LABELS = { animal_id: 'Animal' };
type Values = Partial<Record<keyof typeof LABELS, string>>;
type FormState = { values: Values; errors: FieldErrors };
type GroupState = {
  edit?: FormState;
  add?: FormState & { values: { animal_id?: string } };
  page?: FieldErrors;
};

/** The form's fields → a group body: an empty date clears it, an absent field is left out (kept: r18 F9). */
const groupInput = (v: Values): GroupInput => ({
  ...(v.farm_id !== undefined ? { farm_id: v.farm_id } : {}),
  ...(v.name !== undefined ? { name: v.name.trim() } : {}),
  ...(v.birth_date_from !== undefined ? { birth_date_from: v.birth_date_from || null } : {}),
  ...(v.birth_date_to !== undefined ? { birth_date_to: v.birth_date_to || null } : {}),
});
const window = (g: Pick<GroupRow, 'birth_date_from' | 'birth_date_to'>) =>
  g.birth_date_from || g.birth_date_to ? `${g.birth_date_from ?? '…'} – ${g.birth_date_to ?? '…'}` : 'any';

/**
 * Contemporary groups (animals of one farm born within a window, compared with each other):
 * GET/POST /groups, GET/POST /groups/:id, POST /groups/:id/delete, POST /groups/:id/animals,
 * POST /groups/:id/animals/:animalId/remove — the API's group queries (a farmer reads, technicians of
 * the farm and admins write).
 */
export function groupPages(app: PageRouter, deps: PageDeps) {
  const { sql } = deps;

  async function renderList(c: PageContext, create?: FormState) {
    const principal = userOf(c);
    const farms = await listFarms(sql, principal);
    // Read as the API reads it: an upper-case id filters like its lower-case spelling.
    const farmId = canonicalUuid(c.req.query('farm_id'));
    const groups = await listGroups(sql, principal, farms.some((f) => f.id === farmId) ? farmId : undefined);
    const writable = farms.filter((f) => f.can_edit);
    const columns: Column<GroupRow>[] = [
      { header: 'Group', primary: true, cell: (g) => <a href={`/groups/${g.id}`}>{g.name}</a> },
      { header: 'Farm', cell: (g) => g.farm.name },
      { header: 'Born', cell: (g) => window(g) },
      { header: 'Animals', numeric: true, cell: (g) => String(g.animals.length) },
    ];
    const v = create?.values ?? { farm_id: farmId };
    const errors = create?.errors ?? {};
    return sendPage(
      c,
      deps,
      {
        title: 'Groups',
        children: (
          <>
            {groups.length === 0 ? (
              <EmptyState title="No groups yet">
                <p>A contemporary group gathers a farm's animals born within a window, to compare them.</p>
              </EmptyState>
            ) : (
              <DataTable
                id="groups"
                caption="Contemporary groups"
                captionHidden
                columns={columns}
                rows={groups}
              />
            )}
            {writable.length > 0 && (
              <section aria-labelledby="new-group-title">
                <h2 id="new-group-title">New group</h2>
                <form method="post" action="/groups" novalidate>
                  <input type="hidden" name="_csrf" value={principal.csrfToken} />
                  <input type="hidden" name={CREATE_TOKEN_FIELD} value={newCreateToken()} />
                  <ErrorSummary errors={errors} />
                  <div class="filters">
                    <SelectField
                      name="farm_id"
                      label={LABELS.farm_id}
                      required
                      placeholder="Choose a farm"
                      value={v.farm_id ?? ''}
                      options={writable.map((f) => ({ value: f.id, label: f.name }))}
                      error={errors.farm_id}
                    />
                    <GroupFields values={v} errors={errors} />
                  </div>
                  <Button>Create group</Button>
                </form>
              </section>
            )}
          </>
        ),
      },
      create ? 422 : 200,
    );
  }

  async function renderGroup(
    c: PageContext,
    id: string,
    state: GroupState = {},
    status: 200 | 409 | 422 = 200,
  ) {
    const principal = userOf(c);
    const group = await findGroup(sql, principal, id);
    if (!group) throw pageNotFound();
    const candidates = group.can_edit
      ? (await listAnimals(sql, principal, { farm_id: group.farm.id, limit: 1000 })).filter(
          (a) => !group.animals.some((m) => m.id === a.id),
        )
      : [];
    type Member = GroupRow['animals'][number];
    const columns: Column<Member>[] = [
      { header: 'Tag', primary: true, cell: (a) => <a href={`/animals/${a.id}`}>{a.tag_id}</a> },
      { header: 'EID', cell: (a) => a.eid ?? '—' },
      { header: 'Sex', cell: (a) => a.sex ?? '—' },
      {
        header: 'Born',
        cell: (a) => (
          <>
            {a.birth_date ?? '—'}
            {a.outside_window && <strong class="badge-text"> outside the window</strong>}
          </>
        ),
      },
      ...(group.can_edit
        ? [
            {
              header: 'Remove',
              cell: (a: Member) => (
                <ActionForm
                  action={`/groups/${group.id}/animals/${a.id}/remove`}
                  csrfToken={principal.csrfToken}
                  variant="danger"
                >
                  Remove<span class="visually-hidden"> {a.tag_id}</span>
                </ActionForm>
              ),
            },
          ]
        : []),
    ];
    const edit = {
      values: {
        name: group.name,
        birth_date_from: group.birth_date_from ?? '',
        birth_date_to: group.birth_date_to ?? '',
        ...state.edit?.values,
      },
      errors: state.edit?.errors ?? {},
    };
    const add = state.add ?? { values: {}, errors: {} };
    const outside = group.animals.filter((a) => a.outside_window).length;
    return sendPage(
      c,
      deps,
      {
        title: `Group ${group.name}`,
        children: (
          <>
            <ErrorSummary errors={state.page ?? {}} />
            <Facts
              items={[
                ['Farm', <a href={`/farms/${group.farm.id}`}>{group.farm.name}</a>],
                ['Born', window(group)],
                ['Animals', String(group.animals.length)],
              ]}
            />
            <p>
              <a href={`/scans?group_id=${group.id}`}>Scans of this group →</a>
            </p>
            <h2>Animals</h2>
            {outside > 0 && (
              <p class="flash flash-warning" id="outside-window">
                {outside === 1 ? '1 animal is' : `${outside} animals are`} born outside the group's window
                (recorded before the window was enforced): correct the birth date on the animal's page or
                remove it from the group. Other edits are not blocked.
              </p>
            )}
            {group.animals.length === 0 ? (
              <EmptyState title="No animals in this group yet" />
            ) : (
              <DataTable
                id="group-animals"
                caption="Animals in the group"
                captionHidden
                columns={columns}
                rows={group.animals}
              />
            )}
            {group.can_edit && (
              <>
                <form method="post" action={`/groups/${group.id}/animals`} novalidate>
                  <input type="hidden" name="_csrf" value={principal.csrfToken} />
                  <ErrorSummary errors={add.errors} fieldIds={{ _form: 'field-animal_id' }} />
                  <SelectField
                    name="animal_id"
                    label="Add an animal of this farm"
                    required
                    placeholder={
                      candidates.length ? 'Choose an animal' : 'Every animal of the farm is in the group'
                    }
                    value={add.values.animal_id ?? ''}
                    options={candidates.map((a) => ({
                      value: a.id,
                      label: `${a.tag_id}${a.birth_date ? ` (born ${a.birth_date})` : ''}`,
                    }))}
                    error={add.errors.animal_id}
                  />
                  <Button variant="secondary">Add to group</Button>
                </form>
                <h2>Edit group</h2>
                <form method="post" action={`/groups/${group.id}`} novalidate>
                  <input type="hidden" name="_csrf" value={principal.csrfToken} />
                  <ErrorSummary errors={edit.errors} />
                  <div class="filters">
                    <GroupFields values={edit.values} errors={edit.errors} />
                  </div>
                  <Button>Save group</Button>
                </form>
                <h2>Delete group</h2>
                <p class="muted">The animals stay; only the group goes.</p>
                <ActionForm
                  action={`/groups/${group.id}/delete`}
                  csrfToken={principal.csrfToken}
                  variant="danger"
                >
                  Delete group {group.name}
                </ActionForm>
              </>
            )}
          </>
        ),
      },
      status,
    );
  }

  const readValues = (form: Awaited<ReturnType<typeof readForm>>, withFarm: boolean): Values => ({
    ...(withFarm ? { farm_id: textOf(form, 'farm_id'), name: '' } : {}),
    ...presentTexts(form, ['name', 'birth_date_from', 'birth_date_to'] as const),
  });

  app.get('/groups', (c) => renderList(c));
  app.post('/groups', async (c) => {
    const form = await readForm(c);
    const values = readValues(form, true);
    const done = await attempt(async () => {
      const input = validated(groupCreateSchema, groupInput(values));
      const principal = userOf(c);
      const claim = {
        form: 'group',
        userId: principal.userId,
        token: createTokenOf(form),
        landsOn: async (tx: TransactionSql, id: string) => (await findGroup(tx, principal, id)) !== undefined,
      } as const;
      return createOnce(sql, claim, (tx) =>
        createGroup(tx, principal, input as GroupInput & { farm_id: string; name: string }),
      );
    }, LABELS);
    if (!done.ok) return renderList(c, { values, errors: done.errors });
    return redirectDone(c, `/groups/${done.value}`, 'group-created');
  });
  app.get('/groups/:id', (c) => renderGroup(c, idParam(c)));
  app.post('/groups/:id', async (c) => {
    const id = idParam(c);
    const values = readValues(await readForm(c), false);
    const done = await attempt(
      async () => updateGroup(sql, userOf(c), id, validated(groupPatchSchema, groupInput(values))),
      LABELS,
    );
    if (!done.ok) return renderGroup(c, id, { edit: { values, errors: done.errors } }, done.status);
    if (!done.value) throw pageNotFound();
    return redirectDone(c, `/groups/${id}`, 'group-saved');
  });
  app.post('/groups/:id/delete', async (c) => {
    const id = idParam(c);
    await readForm(c);
    if (!(await deleteGroup(sql, userOf(c), id))) throw pageNotFound();
    return redirectDone(c, '/groups', 'group-deleted');
  });
  app.post('/groups/:id/animals', async (c) => {
    const id = idParam(c);
    const animalId = textOf(await readForm(c), 'animal_id');
    const done = await attempt(async () => {
      if (!UUID_RE.test(animalId)) throw emptyField('animal_id');
      return addGroupAnimal(sql, userOf(c), id, animalId);
    }, ADD_LABELS);
    if (!done.ok)
      return renderGroup(
        c,
        id,
        { add: { values: { animal_id: animalId }, errors: done.errors } },
        done.status,
      );
    if (!done.value) throw pageNotFound();
    return redirectDone(c, `/groups/${id}`, 'group-animal-added');
  });
  app.post('/groups/:id/animals/:animalId/remove', async (c) => {
    const id = idParam(c);
    const animalId = idParam(c, 'animalId');
    await readForm(c);
    if (!(await removeGroupAnimal(sql, userOf(c), id, animalId))) throw pageNotFound();
    return redirectDone(c, `/groups/${id}`, 'group-animal-removed');
  });
}

function GroupFields({ values, errors }: { values: Values; errors: FieldErrors }) {
  return (
    <>
      <TextField
        name="name"
        label={LABELS.name}
        required
        value={values.name}
        error={errors.name}
        maxlength={100}
      />
      <TextField
        name="birth_date_from"
        label={LABELS.birth_date_from}
        type="date"
        value={values.birth_date_from}
        error={errors.birth_date_from}
      />
      <TextField
        name="birth_date_to"
        label={LABELS.birth_date_to}
        type="date"
        value={values.birth_date_to}
        error={errors.birth_date_to}
      />
    </>
  );
}
