import type { TransactionSql } from 'postgres';
import {
  type AnimalInput,
  type AnimalRow,
  createAnimal,
  findAnimal,
  listAnimals,
  updateAnimal,
} from '../../access/animal-queries.ts';
import { type FarmRow, listFarms } from '../../access/farm-queries.ts';
import { scanListQuery } from '../../access/scan-list-query.ts';
import { ANIMAL_SEXES, animalCreateSchema, animalPatchSchema } from '../../api/animals.ts';
import { decodeAnimalCursor, encodeCursor } from '../../api/list-cursor.ts';
import { isUsable } from '../../reports/report-figures.ts';
import { canonicalUuid } from '../../text/uuid.ts';
import { TimeSeriesChart } from '../charts/time-series.tsx';
import { Button } from '../components/button.tsx';
import { type Column, DataTable } from '../components/data-table.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { ErrorSummary, SelectField, TextField } from '../components/form-field.tsx';
import { reasonText } from '../components/grade-reasons.ts';
import { Pagination, pageHref } from '../components/pagination.tsx';
import { ScansTable } from '../components/scans-table.tsx';
import { CREATE_TOKEN_FIELD, createOnce, createTokenOf, newCreateToken } from './create-token.ts';
import {
  attempt,
  Facts,
  type FieldErrors,
  farmZone,
  idParam,
  type PageContext,
  type PageDeps,
  type PageRouter,
  pageNotFound,
  presentTexts,
  readForm,
  redirectDone,
  sendPage,
  userOf,
  validated,
} from './page-kit.tsx';
import { missingReason, toScanRow } from './scan-rows.ts';

const PAGE_SIZE = 100;
const LABELS = {
  farm_id: 'Farm',
  tag_id: 'Tag',
  eid: 'Electronic ear tag (EID)',
  breed: 'Breed',
  sex: 'Sex',
  birth_date: 'Birth date',
};
type Values = Partial<Record<keyof typeof LABELS, string>>;
type FormState = { values: Values; errors: FieldErrors };

const OPTIONAL = ['eid', 'breed', 'sex', 'birth_date'] as const;

/**
 * The form's fields → an animal body: empty optional fields are null (cleared), absent ones are left
 * out (kept as they are on an edit: review r18 F9).
 */
function animalInput(values: Values): AnimalInput {
  const input: AnimalInput = {
    ...(values.farm_id ? { farm_id: values.farm_id } : {}),
    ...(values.tag_id !== undefined ? { tag_id: values.tag_id.trim() } : {}),
  };
  for (const k of OPTIONAL) {
    const v = values[k];
    if (v !== undefined) input[k] = v.trim() || null;
  }
  return input;
}

const readValues = (form: Awaited<ReturnType<typeof readForm>>): Values =>
  presentTexts(form, Object.keys(LABELS) as (keyof typeof LABELS)[]);

/** Why a graded scan's value is not drawn on the animal's chart: rejected, no quality grade, or missing. */
function notAMeasurement(s: {
  grade: string | null;
  status: string;
  grade_reasons: readonly string[] | null;
}) {
  if (s.grade === 'R') {
    const why = s.grade_reasons?.length ? `: ${s.grade_reasons.map(reasonText).join(', ')}` : '';
    return `R reject${why}`;
  }
  if (s.grade === null && s.status === 'graded') return 'no quality grade';
  return missingReason(s.status, s.grade_reasons);
}

/**
 * GET /animals (search by tag or EID, per farm, keyset pages; the add form for those who may write),
 * POST /animals, GET /animals/:id (its scans over time: ribeye area and fat thickness charted on the
 * farm's calendar, the scans, the edit form), POST /animals/:id. The API's queries and schemas.
 */
export function animalPages(app: PageRouter, deps: PageDeps) {
  const { sql, signer } = deps;

  async function renderList(c: PageContext, create?: FormState) {
    const principal = userOf(c);
    // Read as the API reads it: an upper-case id filters like its lower-case spelling.
    const farmId = canonicalUuid(c.req.query('farm_id'));
    const q = c.req.query('q')?.trim() || undefined;
    const cursor = c.req.query('cursor');
    const after = cursor ? decodeAnimalCursor(cursor) : undefined;
    const farms = await listFarms(sql, principal);
    const filterFarm = farms.some((f) => f.id === farmId) ? farmId : undefined;
    const rows = await listAnimals(sql, principal, { farm_id: filterFarm, q, after, limit: PAGE_SIZE + 1 });
    const page = rows.slice(0, PAGE_SIZE);
    const last = page.at(-1);
    const base = `/animals${new URL(c.req.url).search}`;
    const writable = farms.filter((f) => f.can_edit);
    const columns: Column<AnimalRow>[] = [
      { header: 'Tag', primary: true, cell: (a) => <a href={`/animals/${a.id}`}>{a.tag_id}</a> },
      { header: 'EID', wideOnly: true, cell: (a) => a.eid ?? '—' },
      { header: 'Farm', cell: (a) => a.farm.name },
      { header: 'Breed', cell: (a) => a.breed ?? '—' },
      { header: 'Sex', cell: (a) => a.sex ?? '—' },
      { header: 'Born', cell: (a) => a.birth_date ?? '—' },
      { header: 'Groups', wideOnly: true, cell: (a) => a.groups.map((g) => g.name).join(', ') || '—' },
      { header: 'Scans', numeric: true, cell: (a) => String(a.scan_count) },
    ];
    return sendPage(
      c,
      deps,
      {
        title: 'Animals',
        children: (
          <>
            <form method="get" action="/animals" aria-label="Find animals" class="filters">
              <SelectField
                name="farm_id"
                label="Farm"
                placeholder="Any farm"
                value={filterFarm ?? ''}
                options={farms.map((f) => ({ value: f.id, label: f.name }))}
              />
              <TextField
                name="q"
                label="Tag or EID"
                type="search"
                value={q}
                hint="The start of a tag (any case), or a whole EID — typed or pasted from a reader"
              />
              <p>
                <Button>Find</Button>
              </p>
            </form>
            {page.length === 0 ? (
              <EmptyState title="No animals found" />
            ) : (
              <DataTable caption="Animals by tag" captionHidden columns={columns} rows={page} id="animals" />
            )}
            <Pagination
              olderHref={
                rows.length > PAGE_SIZE && last
                  ? pageHref(base, { cursor: encodeCursor([last.tag_id, last.id]), done: null })
                  : null
              }
              newerHref={cursor ? pageHref(base, { cursor: null, done: null }) : null}
            />
            {writable.length > 0 && (
              <AnimalForm
                title="Add an animal"
                action="/animals"
                farms={writable}
                state={create ?? { values: { farm_id: filterFarm }, errors: {} }}
                csrf={principal.csrfToken}
                submit="Add animal"
                createToken={newCreateToken()}
              />
            )}
          </>
        ),
      },
      create ? 422 : 200,
    );
  }

  async function renderAnimal(c: PageContext, id: string, edit?: FormState) {
    const principal = userOf(c);
    const animal = await findAnimal(sql, principal, id);
    if (!animal) throw pageNotFound();
    const [farms, scans] = await Promise.all([
      listFarms(sql, principal),
      scanListQuery(sql, principal, { animal_id: id }, { limit: 500 }),
    ]);
    const farm = farms.find((f) => f.id === animal.farm.id);
    const zone = farmZone(farm?.centroid);
    const measured = scans.filter((s) => s.grading_id !== null);
    // Only an A or M result is a measurement (as in the reports): an R (reject) or a result without a
    // quality grade is drawn as the missing-value marker with why, never as a value.
    const point = (s: (typeof scans)[number], key: 'rea_cm2' | 'fat_thickness_mm') => {
      const value = isUsable(s) ? s[key] : null;
      return {
        t: s.captured_at ?? s.created_at ?? new Date(0).toISOString(),
        value,
        missingReason: value === null ? notAMeasurement(s) : undefined,
      };
    };
    const rows = await Promise.all(scans.slice(0, 50).map((s) => toScanRow(s, signer)));
    const values: Values = {
      farm_id: animal.farm.id,
      tag_id: animal.tag_id,
      eid: animal.eid ?? '',
      breed: animal.breed ?? '',
      sex: animal.sex ?? '',
      birth_date: animal.birth_date ?? '',
      ...edit?.values,
    };
    return sendPage(
      c,
      deps,
      {
        title: `Animal ${animal.tag_id}`,
        children: (
          <>
            <Facts
              items={[
                ['Farm', <a href={`/farms/${animal.farm.id}`}>{animal.farm.name}</a>],
                ['EID', animal.eid ?? '—'],
                ['Breed', animal.breed ?? '—'],
                ['Sex', animal.sex ?? '—'],
                ['Born', animal.birth_date ?? '—'],
                [
                  'Groups',
                  animal.groups.length
                    ? animal.groups.map((g, i) => (
                        <>
                          {i > 0 && ', '}
                          <a href={`/groups/${g.id}`}>{g.name}</a>
                        </>
                      ))
                    : '—',
                ],
              ]}
            />
            <h2>Measurements over time</h2>
            <TimeSeriesChart
              id="animal-chart"
              title={`Ribeye area and fat thickness of ${animal.tag_id}`}
              timeZone={zone}
              series={[
                { quantity: 'Ribeye area', unit: 'cm²', points: measured.map((s) => point(s, 'rea_cm2')) },
                {
                  quantity: 'Fat thickness',
                  unit: 'mm',
                  points: measured.map((s) => point(s, 'fat_thickness_mm')),
                },
              ]}
            />
            <h2>Scans</h2>
            {rows.length === 0 ? (
              <EmptyState title="No scans of this animal yet" />
            ) : (
              <>
                <ScansTable rows={rows} caption={`Scans of ${animal.tag_id}`} />
                {scans.length > rows.length && (
                  <p>
                    <a href={`/scans?animal_id=${animal.id}`}>All {scans.length} scans →</a>
                  </p>
                )}
              </>
            )}
            {animal.can_edit && (
              <AnimalForm
                title="Edit"
                action={`/animals/${animal.id}`}
                farms={farms.filter((f) => f.can_edit)}
                state={{ values, errors: edit?.errors ?? {} }}
                csrf={principal.csrfToken}
                submit="Save animal"
              />
            )}
          </>
        ),
      },
      edit ? 422 : 200,
    );
  }

  app.get('/animals', (c) => renderList(c));
  app.post('/animals', async (c) => {
    const principal = userOf(c);
    const form = await readForm(c);
    const values = readValues(form);
    const done = await attempt(async () => {
      const input = validated(animalCreateSchema, animalInput({ tag_id: '', ...values }));
      const claim = {
        form: 'animal',
        userId: principal.userId,
        token: createTokenOf(form),
        landsOn: async (tx: TransactionSql, id: string) =>
          (await findAnimal(tx, principal, id)) !== undefined,
      } as const;
      return createOnce(sql, claim, (tx) =>
        createAnimal(tx, principal, input as AnimalInput & { farm_id: string; tag_id: string }),
      );
    }, LABELS);
    if (!done.ok) return renderList(c, { values, errors: done.errors });
    return redirectDone(c, `/animals/${done.value}`, 'animal-created');
  });
  app.get('/animals/:id', (c) => renderAnimal(c, idParam(c)));
  app.post('/animals/:id', async (c) => {
    const id = idParam(c);
    const values = readValues(await readForm(c));
    const done = await attempt(
      async () => updateAnimal(sql, userOf(c), id, validated(animalPatchSchema, animalInput(values))),
      LABELS,
    );
    if (!done.ok) return renderAnimal(c, id, { values, errors: done.errors });
    if (!done.value) throw pageNotFound();
    return redirectDone(c, `/animals/${id}`, 'animal-saved');
  });
}

function AnimalForm({
  title,
  action,
  farms,
  state,
  csrf,
  submit,
  createToken,
}: {
  title: string;
  action: string;
  farms: readonly FarmRow[];
  state: FormState;
  csrf: string;
  submit: string;
  /** The create form's one-time token (create-token.ts): the same form sent twice makes one animal. */
  createToken?: string;
}) {
  const { values: v, errors } = state;
  return (
    <section aria-labelledby="animal-form-title">
      <h2 id="animal-form-title">{title}</h2>
      <form method="post" action={action} novalidate>
        <input type="hidden" name="_csrf" value={csrf} />
        {createToken && <input type="hidden" name={CREATE_TOKEN_FIELD} value={createToken} />}
        <ErrorSummary errors={errors} />
        <div class="filters">
          <SelectField
            name="farm_id"
            label={LABELS.farm_id}
            required
            value={v.farm_id ?? ''}
            placeholder="Choose a farm"
            options={farms.map((f) => ({ value: f.id, label: f.name }))}
            error={errors.farm_id}
          />
          <TextField
            name="tag_id"
            label={LABELS.tag_id}
            required
            value={v.tag_id}
            error={errors.tag_id}
            maxlength={64}
          />
          <TextField
            name="eid"
            label={LABELS.eid}
            value={v.eid}
            error={errors.eid}
            inputmode="numeric"
            hint="15 digits, e.g. 982000123456789"
          />
          <TextField name="breed" label={LABELS.breed} value={v.breed} error={errors.breed} maxlength={64} />
          <SelectField
            name="sex"
            label={LABELS.sex}
            value={v.sex ?? ''}
            placeholder="Unknown"
            options={ANIMAL_SEXES.map((s) => ({ value: s, label: s }))}
            error={errors.sex}
          />
          <TextField
            name="birth_date"
            label={LABELS.birth_date}
            type="date"
            value={v.birth_date}
            error={errors.birth_date}
          />
        </div>
        <Button>{submit}</Button>
      </form>
    </section>
  );
}
