import { listFarms } from '../../access/farm-queries.ts';
import { listGroups } from '../../access/group-queries.ts';
import { UUID_RE } from '../../api/request-validation.ts';
import type { Principal } from '../../auth/principal.ts';
import { HttpError } from '../../errors.ts';
import { canonicalUuid } from '../../text/uuid.ts';
import { Button, LinkButton } from '../../web/components/button.tsx';
import { EmptyState } from '../../web/components/empty-state.tsx';
import { ErrorSummary, type FieldErrors, SelectField, TextField } from '../../web/components/form-field.tsx';
import {
  type PageContext,
  type PageDeps,
  type PageRouter,
  pageNotFound,
  sendPage,
  userOf,
} from '../../web/pages/page-kit.tsx';
import { exportHref } from '../export-links.ts';
import { buildReport, type Report } from '../report.ts';
import type { ReportScan } from '../report-rows.ts';
import { farmScope, groupScope, type ReportScope } from '../report-scope.ts';
import { printReportPage } from './print-report-page.tsx';
import { ReportActivity, ReportCharts, ReportGroups, ReportSummary } from './report-sections.tsx';

/**
 * The reports pages, behind the dashboard's sign-in guard: GET /reports (filters as a GET form, the
 * report, downloads) and the printable day reports of a farm (GET /reports/farms/:id/print?day=) and
 * of a group (GET /reports/groups/:id/print?day=). A farm or group the viewer cannot see is the
 * dashboard's "Not found" page, like a missing one.
 */
export function reportPages(app: PageRouter, deps: PageDeps) {
  app.get('/reports', (c) => reportsPage(deps, c, userOf(c)));
  app.get('/reports/farms/:id/print', (c) => printReportPage(deps, c, userOf(c)));
  app.get('/reports/groups/:id/print', (c) => printReportPage(deps, c, userOf(c), { kind: 'group' }));
}

type Filters = { farm_id: string; group_id: string; from: string; to: string };

const readFilters = (c: PageContext): Filters => {
  const q = (name: string) => (c.req.query(name) ?? '').trim();
  // Ids as the API reads them (lower case): they are compared with the scope's (review r12 F5); any
  // other text stays as typed, for the form's error.
  const id = (name: string) => canonicalUuid(q(name)) ?? q(name);
  return {
    farm_id: id('farm_id'),
    group_id: id('group_id'),
    from: q('from'),
    to: q('to'),
  };
};

const DATE_LABELS: Record<string, string> = { from: 'From', to: 'To' };

/**
 * Problems of a 422 as `field → sentence` for the form (pointer `/query/from` → `from`), the API's
 * parameter names worded as the form's labels ("To must not be before From": r18 F10).
 */
function fieldErrors(err: HttpError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of err.problems ?? []) {
    const name = p.pointer.split('/').at(-1)!;
    const message = p.message.replace(
      /\b(before|after) (from|to)\b/,
      (_, w: string, f: string) => `${w} ${DATE_LABELS[f]}`,
    );
    out[name] ??= `${DATE_LABELS[name] ?? 'This date'} ${message}.`;
  }
  return out;
}

/** The scope the filters ask for: a report, nothing (no farm or group chosen yet), or form errors. */
async function resolve(
  deps: Pick<PageDeps, 'sql'>,
  principal: Principal,
  f: Filters,
): Promise<{ scope?: ReportScope; errors: Record<string, string> }> {
  const errors: Record<string, string> = {};
  if (f.farm_id && !UUID_RE.test(f.farm_id)) errors.farm_id = 'Choose a farm from the list.';
  if (f.group_id && !UUID_RE.test(f.group_id)) errors.group_id = 'Choose a group from the list.';
  if (Object.keys(errors).length > 0 || (!f.farm_id && !f.group_id)) return { errors };
  const range = { from: f.from || undefined, to: f.to || undefined };
  try {
    const scope = f.group_id
      ? await groupScope(deps.sql, principal, f.group_id, range)
      : await farmScope(deps.sql, principal, f.farm_id, range);
    if (f.farm_id && scope.farm.id !== f.farm_id)
      return { errors: { group_id: 'This group is on another farm.' } };
    return { scope, errors };
  } catch (err) {
    if (err instanceof HttpError && err.status === 422) return { errors: fieldErrors(err) };
    throw err;
  }
}

/**
 * GET /reports — a GET form (farm or group, period) and the report it asks for, with its downloads
 * (CSV/GeoJSON of the same scans) and links to the printable report of each day. The figures come from
 * buildReport, the same as GET /api/v1/reports/…; a farm or group the viewer cannot see is a 404 page.
 */
async function reportsPage(deps: PageDeps, c: PageContext, principal: Principal): Promise<Response> {
  const f = readFilters(c);
  const [farms, groups, resolved] = await Promise.all([
    listFarms(deps.sql, principal),
    listGroups(deps.sql, principal),
    resolve(deps, principal, f).catch((err: unknown) => {
      if (err instanceof HttpError && err.status === 404) throw pageNotFound();
      throw err;
    }),
  ]);
  const { scope, errors } = resolved;
  const built = scope ? await buildReport(deps.sql, principal, scope) : undefined;
  const failed = Object.keys(errors).length > 0;
  return sendPage(
    c,
    deps,
    {
      title: 'Reports',
      children: (
        <>
          <ReportForm
            filters={f}
            errors={errors}
            farms={farms.map((x) => ({ value: x.id, label: x.name }))}
            groups={groups.map((g) => ({ value: g.id, label: `${g.name} (${g.farm.name})` }))}
          />
          {built ? (
            <ReportBody report={built.report} scans={built.scans} scope={built.scope} />
          ) : (
            !failed && (
              <EmptyState title="Choose a farm or a group">
                <p>Leave the dates empty for every scan, or give one day in both for a day's report.</p>
              </EmptyState>
            )
          )}
        </>
      ),
    },
    failed ? 422 : 200,
  );
}

function ReportForm(props: {
  filters: Filters;
  errors: FieldErrors;
  farms: { value: string; label: string }[];
  groups: { value: string; label: string }[];
}) {
  const { filters: f, errors } = props;
  return (
    <form method="get" action="/reports" class="filters report-filters" aria-label="Report filters">
      <ErrorSummary errors={errors} />
      <SelectField
        name="farm_id"
        label="Farm"
        placeholder="Choose a farm"
        options={props.farms}
        value={f.farm_id}
        error={errors.farm_id}
      />
      <SelectField
        name="group_id"
        label="Contemporary group"
        placeholder="Whole farm"
        options={props.groups}
        value={f.group_id}
        error={errors.group_id}
      />
      <TextField name="from" type="date" label="From (farm's local day)" value={f.from} error={errors.from} />
      <TextField name="to" type="date" label="To (inclusive)" value={f.to} error={errors.to} />
      <div class="field">
        <Button>Show report</Button>
      </div>
    </form>
  );
}

function ReportBody({ report, scans, scope }: { report: Report; scans: ReportScan[]; scope: ReportScope }) {
  const period =
    scope.from || scope.to ? `${scope.from ?? 'the first scan'} to ${scope.to ?? 'today'}` : 'every scan';
  const exportQuery = new URLSearchParams(scope.filters as Record<string, string>).toString();
  const days = report.by_day.filter((d) => d.day !== null).map((d) => d.day!);
  // A group report prints the group (its animals, its ratios), not the farm's day.
  const printPath = scope.group
    ? `/reports/groups/${scope.group.id}/print`
    : `/reports/farms/${scope.farm.id}/print`;
  return (
    <article class="report" aria-labelledby="report-title">
      <h2 id="report-title">
        {scope.group ? `${scope.group.name} — ${scope.farm.name}` : scope.farm.name}: {period}
      </h2>
      <p class="muted">Days and times in the farm's time zone, {report.scope.time_zone}.</p>
      <p class="report-downloads">
        <LinkButton href={exportHref('csv', exportQuery)} download>
          Download CSV
        </LinkButton>{' '}
        <LinkButton href={exportHref('geojson', exportQuery)} download>
          Download GeoJSON (map)
        </LinkButton>
      </p>
      {days.length > 0 && (
        <details class="report-days" open={days.length <= 7}>
          <summary>
            Printable report of one day ({days.length === 1 ? '1 day' : `${days.length} days`})
          </summary>
          <ul>
            {days.map((d) => (
              <li>
                <a href={`${printPath}?day=${d}`}>{d}</a>
              </li>
            ))}
          </ul>
        </details>
      )}
      <ReportSummary report={report} />
      <ReportCharts scans={scans} />
      <ReportActivity report={report} />
      <ReportGroups report={report} />
    </article>
  );
}
