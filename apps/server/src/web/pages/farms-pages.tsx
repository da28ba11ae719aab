import { type LinkRole, linkRoleField, linkToRemoveField } from '../../access/farm-links.ts';
import {
  createFarm,
  deleteFarm,
  type FarmInput,
  type FarmRow,
  findFarm,
  listFarms,
  updateFarm,
} from '../../access/farm-queries.ts';
import {
  addMember,
  listMembers,
  type MemberManager,
  type MemberRow,
  removableLinks,
  removeMember,
} from '../../access/membership-queries.ts';
import { scanListQuery } from '../../access/scan-list-query.ts';
import { farmBody } from '../../api/farms.ts';
import { isAdmin } from '../../auth/principal.ts';
import { forbidden } from '../../auth/session-middleware.ts';
import { HttpError } from '../../errors.ts';
import { ActionForm, Button } from '../components/button.tsx';
import { type Column, DataTable } from '../components/data-table.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import {
  CheckboxField,
  ErrorSummary,
  SelectField,
  TextAreaField,
  TextField,
} from '../components/form-field.tsx';
import { FarmMap, type FarmMapProps, type GeoJsonPolygon } from '../map/farm-map.tsx';
import { GeofenceEditor, WORLD_EXTENT } from '../map/geofence-editor.tsx';
import type { LonLat } from '../map/projection.ts';
import type { Grade } from '../view-types.ts';
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
  textOf,
  userOf,
  validated,
} from './page-kit.tsx';

const FARM_CREATE = farmBody(true);
const FARM_PATCH = farmBody(false);
const FARM_LABELS = { name: 'Name', geofence: 'Geofence', centroid: 'Centre' };
const MEMBER_LABELS = { email: 'Email', user_id: 'Email', is_owner: 'Owner', linked_as: 'Linked as' };
const EDITOR_SCRIPT = 'js/geofence-editor.js';
const GEOFENCE_HINT =
  'Drawn on the map above (with JavaScript on), or typed or pasted here: a GeoJSON Polygon in WGS 84: {"type":"Polygon","coordinates":[[[lon,lat],…,[lon,lat]]]}, the first position repeated last. ' +
  'A Feature or a FeatureCollection holding one polygon (as geojson.io saves) is accepted too. Empty: no geofence.';

type FarmForm = { values: { name?: string; geofence?: string }; errors: FieldErrors };
type FarmState = {
  edit?: FarmForm;
  member?: { values: { email?: string; linked_as?: string }; errors: FieldErrors };
  /** A Remove refused (no such link named, the last owner): shown above the members table. */
  removal?: FieldErrors;
  page?: FieldErrors;
};

/** The geofence textarea → GeoJSON (null when empty); JSON syntax errors are named like the others. */
export function parseGeofenceText(text: string): unknown | null {
  if (!text.trim()) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(422, 'invalid_geometry', 'the geofence is not JSON', {
      problems: [{ pointer: '/geofence', message: `is not valid JSON (${(err as Error).message})` }],
    });
  }
  const v = value as { type?: string; features?: unknown };
  if (v?.type === 'Feature') return geometryOf(v as { geometry?: unknown }, 'the Feature');
  if (v?.type === 'FeatureCollection') {
    const n = Array.isArray(v.features) ? v.features.length : 0;
    if (n !== 1)
      throw noGeometry(
        `is a FeatureCollection with ${n === 0 ? 'no features' : `${n} features`}: give one Feature whose geometry is the farm's Polygon`,
      );
    const [feature] = v.features as unknown[];
    if ((feature as { type?: unknown } | null)?.type !== 'Feature')
      throw noGeometry('holds something that is not a Feature: give one Feature whose geometry is a Polygon');
    return geometryOf(feature as object, "the FeatureCollection's Feature");
  }
  return value;
}

// Only an empty box clears the geofence (the map editor empties it): a Feature without a geometry was
// read as "no geofence" and deleted the farm's fence with a "saved" (review r18 F7).
function geometryOf(feature: { geometry?: unknown }, what: string): unknown {
  if (feature.geometry === undefined || feature.geometry === null)
    throw noGeometry(
      `has no geometry in ${what}: a Feature needs a geometry, the farm's Polygon (to remove the geofence, empty this box)`,
    );
  return feature.geometry;
}

const noGeometry = (message: string) =>
  new HttpError(422, 'invalid_geometry', `the geofence ${message}`, {
    problems: [{ pointer: '/geofence', message }],
  });

const pretty = (geo: unknown) => (geo ? JSON.stringify(geo) : '');

/**
 * GET /farms, POST /farms (admins), GET /farms/:id (map of the geofence and scan positions, the
 * farm's local time, members), POST /farms/:id (name and geofence: admins and the farm's
 * technicians), POST /farms/:id/delete (admins), POST /farms/:id/members and
 * POST /farms/:id/members/:userId/remove (one link, `linked_as`: admins any, owners technician links;
 * never the last active owner).
 */
export function farmPages(app: PageRouter, deps: PageDeps) {
  const { sql } = deps;

  async function renderList(c: PageContext, create?: FarmForm, status: 409 | 422 = 422) {
    const principal = userOf(c);
    const farms = await listFarms(sql, principal);
    const admin = isAdmin(principal);
    // A new farm's map starts over the farms this admin already has, else over the world.
    const centres: LonLat[] = farms.flatMap((f) =>
      f.centroid ? [[f.centroid.lon, f.centroid.lat] as const] : [],
    );
    const columns: Column<FarmRow>[] = [
      { header: 'Farm', primary: true, cell: (f) => <a href={`/farms/${f.id}`}>{f.name}</a> },
      { header: 'Geofence', cell: (f) => (f.geofence ? 'yes' : 'none') },
      { header: 'Local time zone', cell: (f) => farmZone(f.centroid) },
      { header: 'You may edit', cell: (f) => (f.can_edit ? 'yes' : 'no') },
    ];
    return sendPage(
      c,
      deps,
      {
        title: 'Farms',
        scripts: admin ? [EDITOR_SCRIPT] : [],
        children: (
          <>
            {farms.length === 0 ? (
              <EmptyState title="No farms yet">
                <p>An administrator links you to your farms.</p>
              </EmptyState>
            ) : (
              <DataTable id="farms" caption="Farms" captionHidden columns={columns} rows={farms} />
            )}
            {admin && (
              <FarmEditForm
                title="New farm"
                action="/farms"
                state={create ?? { values: {}, errors: {} }}
                csrf={principal.csrfToken}
                submit="Create farm"
                createToken={newCreateToken()}
                map={{
                  id: 'new-farm-map',
                  farmName: 'the new farm',
                  geofence: null,
                  scans: [],
                  timeZone: 'UTC',
                  tileUrl: deps.tiles?.url,
                  tileAttribution: deps.tiles?.attribution,
                  extent: centres.length > 0 ? centres : WORLD_EXTENT,
                }}
              />
            )}
          </>
        ),
      },
      create ? status : 200,
    );
  }

  async function renderFarm(
    c: PageContext,
    id: string,
    state: FarmState = {},
    status: 200 | 409 | 422 = 200,
  ) {
    const principal = userOf(c);
    const farm = await findFarm(sql, principal, id);
    if (!farm) throw pageNotFound();
    const [members, scans] = await Promise.all([
      listMembers(sql, principal, id),
      scanListQuery(sql, principal, { farm_id: id }, { limit: 500 }),
    ]);
    const zone = farmZone(farm.centroid);
    const owner = members?.some((m) => m.user_id === principal.userId && m.is_owner) ?? false;
    const manager: MemberManager = { admin: isAdmin(principal), owner, userId: principal.userId };
    const map: FarmMapProps = {
      id: 'farm-map',
      farmName: farm.name,
      geofence: farm.geofence as GeoJsonPolygon | null,
      timeZone: zone,
      tileUrl: deps.tiles?.url,
      tileAttribution: deps.tiles?.attribution,
      extent: farm.centroid ? [[farm.centroid.lon, farm.centroid.lat]] : WORLD_EXTENT,
      scans: scans.map((s) => ({
        id: s.id,
        lon: s.gps?.lon ?? null,
        lat: s.gps?.lat ?? null,
        capturedAt: s.captured_at,
        grade: (s.grade as Grade | null) ?? null,
        label: `Scan ${s.capture_id}`,
        href: `/scans/${s.id}`,
      })),
    };
    return sendPage(
      c,
      deps,
      {
        title: farm.name,
        scripts: farm.can_edit ? [EDITOR_SCRIPT] : [],
        children: (
          <>
            <ErrorSummary errors={state.page ?? {}} />
            {farm.can_edit ? (
              <FarmEditForm
                title="Edit farm"
                action={`/farms/${farm.id}`}
                state={{
                  values: { name: farm.name, geofence: pretty(farm.geofence), ...state.edit?.values },
                  errors: state.edit?.errors ?? {},
                }}
                csrf={principal.csrfToken}
                submit="Save farm"
                map={map}
              />
            ) : (
              <FarmMap {...map} extent={[]} />
            )}
            <Facts
              items={[
                ['Local time zone', zone],
                [
                  'Centre',
                  farm.centroid ? `${farm.centroid.lat.toFixed(5)}, ${farm.centroid.lon.toFixed(5)}` : '—',
                ],
                ['Scans shown on the map', scans.length === 500 ? 'the newest 500' : String(scans.length)],
              ]}
            />
            <p>
              <a href={`/scans?farm_id=${farm.id}`}>Scans of this farm →</a>{' '}
              <a href={`/animals?farm_id=${farm.id}`}>Animals →</a>{' '}
              <a href={`/groups?farm_id=${farm.id}`}>Groups →</a>
            </p>
            <Members
              farmId={farm.id}
              members={members ?? []}
              manager={manager}
              csrf={principal.csrfToken}
              form={state.member ?? { values: {}, errors: {} }}
              removal={state.removal ?? {}}
            />
            {isAdmin(principal) && (
              <section aria-labelledby="delete-title">
                <h2 id="delete-title">Delete farm</h2>
                <p class="muted">Only a farm without scans, animals, groups or devices can be deleted.</p>
                <ActionForm
                  action={`/farms/${farm.id}/delete`}
                  csrfToken={principal.csrfToken}
                  variant="danger"
                >
                  Delete {farm.name}
                </ActionForm>
              </section>
            )}
          </>
        ),
      },
      status,
    );
  }

  const farmInput = (values: FarmForm['values']): FarmInput => ({
    name: values.name ?? '',
    geofence: parseGeofenceText(values.geofence ?? ''),
  });

  app.get('/farms', (c) => renderList(c));
  app.post('/farms', async (c) => {
    const principal = userOf(c);
    const form = await readForm(c);
    if (!isAdmin(principal)) throw forbidden('only admins create farms');
    const values = { name: textOf(form, 'name'), geofence: textOf(form, 'geofence') };
    const done = await attempt(async () => {
      const input = validated(FARM_CREATE, farmInput(values));
      const claim = { form: 'farm', userId: principal.userId, token: createTokenOf(form) } as const;
      const id = createdIdFrom(form, principal.userId);
      return createOnce(sql, claim, (tx) => createFarm(tx, { ...input, name: input.name ?? '' }, id));
    }, FARM_LABELS);
    if (!done.ok) return renderList(c, { values, errors: done.errors }, done.status);
    return redirectDone(c, `/farms/${done.value}`, 'farm-created');
  });

  app.get('/farms/:id', (c) => renderFarm(c, idParam(c)));
  app.post('/farms/:id', async (c) => {
    const id = idParam(c);
    const form = await readForm(c);
    // A field absent from the form keeps the farm's (a form without `geofence` removed it: r18 F9).
    const values = presentTexts(form, ['name', 'geofence'] as const);
    const done = await attempt(async () => {
      const patch = {
        ...(values.name !== undefined ? { name: values.name } : {}),
        ...(values.geofence !== undefined ? { geofence: parseGeofenceText(values.geofence) } : {}),
      };
      return updateFarm(sql, userOf(c), id, validated(FARM_PATCH, patch));
    }, FARM_LABELS);
    if (!done.ok) return renderFarm(c, id, { edit: { values, errors: done.errors } }, 422);
    if (!done.value) throw pageNotFound();
    return redirectDone(c, `/farms/${id}`, 'farm-saved');
  });

  app.post('/farms/:id/delete', async (c) => {
    const id = idParam(c);
    const principal = userOf(c);
    await readForm(c);
    if (!(await findFarm(sql, principal, id))) throw pageNotFound();
    if (!isAdmin(principal)) throw forbidden('only admins delete farms');
    const done = await attempt(() => deleteFarm(sql, id), {});
    if (!done.ok) return renderFarm(c, id, { page: done.errors }, done.status);
    return redirectDone(c, '/farms', 'farm-deleted');
  });

  app.post('/farms/:id/members', async (c) => {
    const id = idParam(c);
    const form = await readForm(c);
    const values = { email: textOf(form, 'email').trim(), linked_as: textOf(form, 'linked_as') };
    const done = await attempt(async () => {
      if (!values.email) throw emptyField('email', 'must not be empty');
      return addMember(sql, userOf(c), id, {
        email: values.email,
        isOwner: textOf(form, 'is_owner') === 'on',
        linkedAs: linkRoleField(values.linked_as),
      });
    }, MEMBER_LABELS);
    if (!done.ok) return renderFarm(c, id, { member: { values, errors: done.errors } }, done.status);
    if (!done.value) throw pageNotFound();
    return redirectDone(c, `/farms/${id}#members`, 'member-added');
  });

  app.post('/farms/:id/members/:userId/remove', async (c) => {
    const id = idParam(c);
    const userId = idParam(c, 'userId');
    const linkedAs = textOf(await readForm(c), 'linked_as');
    const done = await attempt(
      async () => removeMember(sql, userOf(c), id, userId, linkToRemoveField(linkedAs)),
      MEMBER_LABELS,
    );
    if (!done.ok) return renderFarm(c, id, { removal: done.errors }, done.status);
    if (!done.value) throw pageNotFound();
    return redirectDone(c, `/farms/${id}#members`, 'member-removed');
  });
}

function FarmEditForm({
  title,
  action,
  state,
  csrf,
  submit,
  createToken,
  map,
}: {
  title: string;
  action: string;
  state: FarmForm;
  csrf: string;
  submit: string;
  /** The create form's one-time token (create-token.ts): the same form sent twice makes one farm. */
  createToken?: string;
  /** The farm map the geofence is drawn on (GeofenceEditor, writing into the textarea). */
  map: FarmMapProps;
}) {
  return (
    <section aria-labelledby="farm-form-title">
      <h2 id="farm-form-title">{title}</h2>
      <form method="post" action={action} novalidate>
        <input type="hidden" name="_csrf" value={csrf} />
        {createToken && <input type="hidden" name={CREATE_TOKEN_FIELD} value={createToken} />}
        <ErrorSummary errors={state.errors} />
        <TextField
          name="name"
          label="Name"
          required
          value={state.values.name}
          error={state.errors.name}
          maxlength={200}
        />
        <GeofenceEditor {...map} inputId="field-geofence" />
        <TextAreaField
          name="geofence"
          label="Geofence"
          rows={6}
          value={state.values.geofence}
          error={state.errors.geofence}
          hint={GEOFENCE_HINT}
        />
        <Button>{submit}</Button>
      </form>
    </section>
  );
}

function Members({
  farmId,
  members,
  manager,
  csrf,
  form,
  removal,
}: {
  farmId: string;
  members: readonly MemberRow[];
  manager: MemberManager;
  csrf: string;
  form: { values: { email?: string; linked_as?: string }; errors: FieldErrors };
  removal: FieldErrors;
}) {
  const { admin } = manager;
  const manages = admin || manager.owner;
  // One Remove per link the caller may remove (removableLinks, the rule removeMember enforces): a member
  // linked as farmer and as technician loses only the link named.
  const removeLink = (m: MemberRow, role: LinkRole) => (
    <ActionForm
      action={`/farms/${farmId}/members/${m.user_id}/remove`}
      csrfToken={csrf}
      variant="danger"
      fields={{ linked_as: role }}
    >
      Remove<span class="visually-hidden"> {m.email}</span> as {role}
    </ActionForm>
  );
  const columns: Column<MemberRow>[] = [
    { header: 'Name', primary: true, cell: (m) => m.full_name ?? m.email },
    { header: 'Email', cell: (m) => m.email },
    {
      header: 'Linked as',
      cell: (m) =>
        m.linked_as.map((r) => (r === 'farmer' && m.is_owner ? 'farmer (owner)' : r)).join(' and '),
    },
    ...(manages
      ? [
          {
            header: 'Remove',
            cell: (m: MemberRow) => {
              const links = removableLinks(manager, m.user_id, m.linked_as);
              return links.length === 0 ? (
                '—'
              ) : (
                <div class="actions">{links.map((r) => removeLink(m, r))}</div>
              );
            },
          },
        ]
      : []),
  ];
  return (
    <section id="members" aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <ErrorSummary errors={removal} fieldIds={{ _form: 'farm-members', linked_as: 'farm-members' }} />
      <DataTable
        id="farm-members"
        caption="People linked to this farm"
        captionHidden
        columns={columns}
        rows={members}
      />
      {manages && (
        <form method="post" action={`/farms/${farmId}/members`} novalidate>
          <input type="hidden" name="_csrf" value={csrf} />
          <ErrorSummary errors={form.errors} fieldIds={{ _form: 'field-email' }} />
          <TextField
            name="email"
            label={admin ? 'Add a farmer or technician by email' : 'Add a technician by email'}
            type="email"
            required
            value={form.values.email}
            error={form.errors.email ?? form.errors.user_id}
          />
          {admin && (
            <SelectField
              name="linked_as"
              label="Linked as"
              placeholder="The user’s role (farmer for an owner)"
              value={form.values.linked_as ?? ''}
              options={[
                { value: 'farmer', label: 'Farmer (reads)' },
                { value: 'technician', label: 'Technician (reads and writes)' },
              ]}
              hint="Say which for a user who is both farmer and technician."
              error={form.errors.linked_as}
            />
          )}
          {admin && (
            <CheckboxField
              name="is_owner"
              label="Owner of this farm (farmers only)"
              error={form.errors.is_owner}
            />
          )}
          <Button variant="secondary">Add member</Button>
        </form>
      )}
    </section>
  );
}
