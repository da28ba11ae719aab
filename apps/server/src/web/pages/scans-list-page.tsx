import { listDevices } from '../../access/device-queries.ts';
import { type FarmRow, listFarms } from '../../access/farm-queries.ts';
import { listGroups } from '../../access/group-queries.ts';
import { encodeScanCursor } from '../../access/scan-cursor.ts';
import { GRADES, SCAN_FILTER_PARAMS, SCAN_STATUSES } from '../../access/scan-filters.ts';
import { scanListQuery } from '../../access/scan-list-query.ts';
import { readQuery } from '../../api/request-validation.ts';
import { errorResponse, HttpError } from '../../errors.ts';
import { exportHref } from '../../reports/export-links.ts';
import { canonicalUuid } from '../../text/uuid.ts';
import { Button, LinkButton } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { ErrorSummary, SelectField, TextField } from '../components/form-field.tsx';
import { Pagination, pageHref } from '../components/pagination.tsx';
import { ScansTable, scanRowEvent } from '../components/scans-table.tsx';
import { MAX_LIVE_STREAMS_PER_USER } from '../live/scan-live-hub.ts';
import { sseStream } from '../sse.ts';
import type { ScanRow } from '../view-types.ts';
import { AnimalField, animalFieldSuggestions, lookUpAnimal } from './animal-field.tsx';
import {
  commonZone,
  type FieldErrors,
  farmZone,
  type PageDeps,
  type PageRouter,
  sendPage,
  userOf,
} from './page-kit.tsx';
import { apiQueryOf, FILTER_LABELS, type FilterValues, parseScanPageQuery } from './scan-list-filters.ts';
import { toScanRow } from './scan-rows.ts';

const PAGE_SIZE = 50;

/** The user already holds every live stream they may (scan-live-hub.ts): 429, before any stream opens. */
const tooManyStreams = () =>
  new HttpError(
    429,
    'too_many_streams',
    `you already have ${MAX_LIVE_STREAMS_PER_USER} live scan lists open (in tabs, windows or other devices); close or hide one and this one connects`,
    { headers: { 'Retry-After': '30' } },
  );
const STATUS_WORDS: Record<string, string> = {
  uploaded: 'uploaded',
  ingested: 'waiting for grading',
  graded: 'graded',
  error: 'failed',
};
const GRADE_WORDS: Record<string, string> = { A: 'A — usable', M: 'M — marginal', R: 'R — reject' };

/** The zone the date filters mean: the chosen farm's, else the one all visible farms share, else UTC. */
function filterZone(farms: readonly FarmRow[], farmId: string | undefined): string {
  const chosen = farms.find((f) => f.id === farmId);
  if (chosen) return farmZone(chosen.centroid);
  return commonZone(farms);
}

/**
 * GET /scans — the scans the viewer may see (the API's query and filters), newest first, 50 a page
 * with Newer/Older keyset links, thumbnails through presigned URLs, and on the first page live rows
 * (new and graded scans) from GET /scans/events.
 */
export function scanListPages(app: PageRouter, deps: PageDeps) {
  const { sql, signer } = deps;

  app.get(
    '/scans/events',
    async (c) => {
      const principal = c.get('principal');
      if (principal === undefined) return c.text('sign in first', 401);
      const filters = readQuery(c, SCAN_FILTER_PARAMS);
      // HEAD runs this GET handler; a stream nobody reads would hold a live watch (and the LISTEN
      // connection) until shutdown. The headers say what a GET would answer; nothing is opened.
      if (c.req.method === 'HEAD') {
        return c.body(null, 200, { 'content-type': 'text/event-stream' });
      }
      const release = deps.live.claim(principal.userId);
      if (release === undefined) return errorResponse(c, tooManyStreams());
      const ended = new AbortController();
      return sseStream(c, {
        heartbeatMs: 15_000,
        retryMs: 3_000,
        shutdown: AbortSignal.any([deps.shutdown, ended.signal]),
        subscribe: async (send) => {
          let stop: () => void;
          try {
            stop = await deps.live.watch({
              principal,
              filters,
              deliver: async (row) => send(scanRowEvent(await toScanRow(row, signer))),
              // The session ended or the viewer lost a farm: the page reloads (to sign-in, or to the
              // list it may now see) instead of reconnecting and keeping rows it may no longer see.
              end: () => void send({ event: 'reload', data: 'access changed' }).finally(() => ended.abort()),
            });
          } catch (err) {
            release();
            throw err;
          }
          await send({ event: 'ready', data: 'ok' });
          return () => {
            stop();
            release();
          };
        },
      });
    },
    { anonymous: 'handler' },
  );

  app.get('/scans', async (c) => {
    const principal = userOf(c);
    const query = new URL(c.req.url).searchParams;
    const [farms, devices, groups] = await Promise.all([
      listFarms(sql, principal),
      // Names for the filter: no capture counts (review r14 F9).
      listDevices(sql, principal, { counts: false }),
      listGroups(sql, principal),
    ]);
    const zone = filterZone(farms, canonicalUuid(query.get('farm_id')?.trim()));
    const { filters, values, errors, animal, after, before } = parseScanPageQuery(query, zone);
    // The animal typed (or linked) on the chosen farm, else on any of the viewer's: one indexed lookup.
    const [found, suggestions] = await Promise.all([
      animal && lookUpAnimal(sql, principal, animal.text, { farmId: filters.farm_id, prefer: animal.prefer }),
      animalFieldSuggestions(sql, principal, filters.farm_id),
    ]);
    if (found?.ok) {
      filters.animal_id = found.animal.id;
      // A link's id is shown as the animal's tag; typed text as typed.
      if (canonicalUuid(animal?.text)) values.animal = found.animal.tag_id;
    } else if (found) errors.animal = found.error;
    const fetched = await scanListQuery(sql, principal, filters, { limit: PAGE_SIZE + 1, after, before });
    const page = fetched.slice(0, PAGE_SIZE);
    const more = fetched.length > PAGE_SIZE;
    const rows: ScanRow[] = await Promise.all(page.map((r) => toScanRow(r, signer)));
    const cursorOf = (r: (typeof page)[number]) => encodeScanCursor({ sortUs: r.sort_us, id: r.id });
    const base = `/scans${new URL(c.req.url).search}`;
    // Fewer newer scans than a page: that is the first page, shown whole (and live).
    if (before && !more) return c.redirect(pageHref(base, { before: null, cursor: null, done: null }), 303);
    const hasNewer = before ? more : after !== undefined;
    const hasOlder = before ? true : more;
    const first = page[0];
    const last = page.at(-1);
    const firstPage = !after && !before;
    const options = {
      farms: farms.map((f) => ({ value: f.id, label: f.name })),
      fenced: farms.filter((f) => f.geofence).map((f) => ({ value: f.id, label: f.name })),
      devices: devices.map((d) => ({
        value: d.id,
        label: d.label ? `${d.device_code} (${d.label})` : d.device_code,
      })),
      groups: groups.map((g) => ({ value: g.id, label: `${g.name} (${g.farm.name})` })),
    };
    const animalChoice = { id: filters.animal_id, suggestions };
    return sendPage(c, deps, {
      title: 'Scans',
      scripts: firstPage ? ['js/live-scans.js'] : [],
      children: (
        <>
          <FilterForm values={values} errors={errors} options={options} animal={animalChoice} zone={zone} />
          {rows.length > 0 && <Downloads query={apiQueryOf(filters)} />}
          {rows.length === 0 && (
            <div data-live-empty="">
              <EmptyState title="No scans match">
                {Object.keys(values).length > 0 ? (
                  <p>
                    Change the filters or <a href="/scans">show every scan</a>.
                  </p>
                ) : (
                  <p>Scans appear here as soon as a device uploads them.</p>
                )}
              </EmptyState>
            </div>
          )}
          <ScansTable rows={rows} liveSrc={firstPage ? `/scans/events?${apiQueryOf(filters)}` : undefined} />
          <Pagination
            newerHref={
              hasNewer && first ? pageHref(base, { before: cursorOf(first), cursor: null, done: null }) : null
            }
            olderHref={
              hasOlder && last ? pageHref(base, { cursor: cursorOf(last), before: null, done: null }) : null
            }
          />
        </>
      ),
    });
  });
}

type Option = { value: string; label: string };

/**
 * The list's scans as files: the export API with the page's valid filters, as the list applies them
 * (local From/To days already turned into instants by parseScanPageQuery); every page, not only this one.
 * The CSV with a byte order mark, for Excel (exportHref).
 */
function Downloads({ query }: { query: string }) {
  return (
    <p class="report-downloads" id="scan-downloads">
      <LinkButton href={exportHref('csv', query)} download>
        Download CSV
      </LinkButton>{' '}
      <LinkButton href={exportHref('geojson', query)} download>
        Download GeoJSON
      </LinkButton>{' '}
      <span class="muted">Every scan these filters show, on every page (times in UTC).</span>
    </p>
  );
}

function FilterForm({
  values,
  errors,
  options,
  animal,
  zone,
}: {
  values: FilterValues;
  errors: FieldErrors;
  options: Record<'farms' | 'fenced' | 'devices' | 'groups', Option[]>;
  /** The animal the filter found (kept beside its text, see animalFilterOf), the tags offered. */
  animal: { id: string | undefined; suggestions: { value: string; label?: string }[] | null };
  zone: string;
}) {
  const select = (name: keyof FilterValues, opts: Option[], placeholder: string) => (
    <SelectField
      name={name}
      label={FILTER_LABELS[name]!}
      options={opts}
      value={values[name] ?? ''}
      placeholder={placeholder}
      error={errors[name]}
    />
  );
  const active = Object.keys(values).length;
  // Folded away unless filters are in use (or wrong): on a phone the rows come first. <details> works
  // without JavaScript.
  return (
    <details class="filter-panel" open={active > 0 || Object.keys(errors).length > 0}>
      <summary>{active > 0 ? `Filters (${active} in use)` : 'Filter scans'}</summary>
      <form method="get" action="/scans" aria-label="Filter scans">
        <ErrorSummary errors={errors} fieldIds={{ _form: 'field-farm_id' }} />
        <div class="filters">
          {select('farm_id', options.farms, 'Any farm')}
          {select('device_id', options.devices, 'Any device')}
          <AnimalField
            value={values.animal}
            error={errors.animal}
            suggestions={animal.suggestions}
            hint="Its ear tag or 15-digit EID: on the chosen farm, or on any of yours. Empty: any animal."
          />
          {animal.id && <input type="hidden" name="animal_id" value={animal.id} />}
          {select('group_id', options.groups, 'Any group')}
          <TextField
            name="capture_id"
            label="Capture id"
            value={values.capture_id}
            error={errors.capture_id}
          />
          <TextField
            name="from"
            label="From"
            type="date"
            value={values.from}
            error={errors.from}
            hint={`Local days (${zone})`}
          />
          <TextField name="to" label="To" type="date" value={values.to} error={errors.to} />
          {select(
            'status',
            SCAN_STATUSES.map((s) => ({ value: s, label: STATUS_WORDS[s] ?? s })),
            'Any status',
          )}
          {select(
            'grade',
            GRADES.map((g) => ({ value: g, label: GRADE_WORDS[g] ?? g })),
            'Any grade',
          )}
          <TextField
            name="review_label"
            label="Review label"
            value={values.review_label}
            error={errors.review_label}
          />
          {select('in_geofence_of', options.fenced, 'Anywhere')}
        </div>
        <p>
          <Button>Show scans</Button> <a href="/scans">Clear filters</a>
        </p>
      </form>
    </details>
  );
}
