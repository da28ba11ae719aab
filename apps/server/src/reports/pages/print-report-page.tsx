import type { Principal } from '../../auth/principal.ts';
import { HttpError } from '../../errors.ts';
import { LocalTime } from '../../web/components/local-time.tsx';
import { idParam, type PageContext, type PageDeps, pageNotFound } from '../../web/pages/page-kit.tsx';
import { dayProblem } from '../../web/time/format-local.ts';
import { buildReport } from '../report.ts';
import { farmScope, groupScope, type ReportScope } from '../report-scope.ts';
import {
  ReportActivity,
  ReportCharts,
  ReportGroups,
  ReportSummary,
  ScansOfReport,
} from './report-sections.tsx';

/**
 * GET /reports/farms/{id}/print?day=YYYY-MM-DD — one farm, one local day, as one clean document to print
 * or save as PDF: no site navigation at all (not merely hidden), the shared stylesheet (its print rules
 * hide the toolbar), server-drawn SVG charts, a table of animals with their ratios per contemporary
 * group (scan day + sex), and every scan of the day.
 *
 * GET /reports/groups/{id}/print?day=YYYY-MM-DD — the same document for an explicit contemporary group:
 * its scans of the day, one table of its animals with their ratios within the group (the figures of
 * the group report of that day), with the group report's access rules.
 */
export async function printReportPage(
  deps: Pick<PageDeps, 'sql' | 'assets'>,
  c: PageContext,
  principal: Principal,
  { now = new Date(), kind = 'farm' }: { now?: Date; kind?: 'farm' | 'group' } = {},
): Promise<Response> {
  const id = idParam(c);
  const day = c.req.query('day') ?? '';
  const problem = dayProblem(day);
  if (problem) {
    throw new HttpError(422, 'invalid_request', `the day parameter ${problem}, e.g. 2025-09-09`, {
      problems: [{ pointer: '/query/day', message: problem }],
    });
  }
  const range = { from: day, to: day };
  const scope = await (kind === 'group'
    ? groupScope(deps.sql, principal, id, range)
    : farmScope(deps.sql, principal, id, range)
  ).catch((err: unknown) => {
    throw err instanceof HttpError && err.status === 404 ? pageNotFound() : err;
  });
  return printDocument(deps, c, principal, scope, day, now);
}

async function printDocument(
  deps: Pick<PageDeps, 'sql' | 'assets'>,
  c: PageContext,
  principal: Principal,
  scope: ReportScope,
  day: string,
  now: Date,
): Promise<Response> {
  const { report, scans } = await buildReport(deps.sql, principal, scope);
  const tz = report.scope.time_zone;
  const group = scope.group;
  const title = group
    ? `Ultrasound scan report — ${group.name} (${scope.farm.name}) — ${day}`
    : `Ultrasound scan report — ${scope.farm.name} — ${day}`;
  const back = group ? `group_id=${group.id}` : `farm_id=${scope.farm.id}`;
  c.header('Cache-Control', 'no-store');
  return c.html(
    `<!doctype html>${String(
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{title}</title>
          <link rel="stylesheet" href={deps.assets.url('app.css')} />
          <link rel="icon" href={deps.assets.url('favicon.svg')} type="image/svg+xml" />
          <script type="module" src={deps.assets.url('js/print-button.js')} />
        </head>
        <body class="print-document">
          <main id="main">
            <p class="print-toolbar no-print">
              <a href={`/reports?${back}&from=${day}&to=${day}`}>Back to the reports page</a>{' '}
              <button type="button" class="button button-primary" data-print-button hidden>
                Print or save as PDF
              </button>
            </p>
            <header class="print-header">
              <h1>{title}</h1>
              <p>
                {group && (
                  <>
                    Contemporary group <strong>{group.name}</strong> (
                    {group.animals.length === 1 ? '1 animal' : `${group.animals.length} animals`}),{' '}
                  </>
                )}
                Farm <strong>{scope.farm.name}</strong>, scans of <strong>{day}</strong> (times in {tz}). Made{' '}
                <LocalTime utc={now} timeZone={tz} /> for {principal.fullName ?? principal.email}.
              </p>
            </header>
            {report.counts.scans === 0 ? (
              <p>
                No scans {group ? 'of this group' : 'on this farm'} on {day}.
              </p>
            ) : (
              <>
                <ReportSummary report={report} />
                <ReportCharts scans={scans} idPrefix="print" />
                <ReportGroups report={report} idPrefix="print" />
                <ReportActivity report={report} idPrefix="print" />
                <section aria-labelledby="print-scans-title">
                  <h2 id="print-scans-title">Every scan of the day</h2>
                  <ScansOfReport scans={scans} timeZone={tz} />
                </section>
              </>
            )}
            <footer class="print-footer">
              <p>
                Measurements use scans graded A (usable) or M (marginal); R (reject) scans are counted, not
                measured. A missing value is shown as —, never as 0. CTI carcass imaging.
              </p>
            </footer>
          </main>
        </body>
      </html>,
    )}`,
  );
}
