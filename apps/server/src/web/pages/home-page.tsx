import { listAnnouncements } from '../../access/announcement-queries.ts';
import { listFarms } from '../../access/farm-queries.ts';
import { listRegistrations } from '../../access/registration-queries.ts';
import { scanCountsQuery } from '../../access/scan-counts-query.ts';
import { SCAN_STATUSES } from '../../access/scan-filters.ts';
import { scanListQuery } from '../../access/scan-list-query.ts';
import { isAdmin } from '../../auth/principal.ts';
import { safeHtml } from '../../text/safe-markdown.ts';
import { Announcements } from '../components/announcements.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { ScansTable } from '../components/scans-table.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import type { ScanStatus } from '../view-types.ts';
import { commonZone, type PageDeps, type PageRouter, sendPage, userOf } from './page-kit.tsx';
import { toScanRow } from './scan-rows.ts';

const RECENT = 10;

/** GET / — announcements, scan counts by status (all and last 24 h) and the most recent scans. */
export function homePages(app: PageRouter, deps: PageDeps) {
  const { sql, signer } = deps;
  app.get('/', async (c) => {
    const principal = userOf(c);
    const [announcements, counts, recent, farms, pending] = await Promise.all([
      listAnnouncements(sql),
      scanCountsQuery(sql, principal, {}),
      scanListQuery(sql, principal, {}, { limit: RECENT }),
      listFarms(sql, principal),
      isAdmin(principal) ? listRegistrations(sql, 'pending') : Promise.resolve([]),
    ]);
    const zone = commonZone(farms);
    const byStatus = new Map(counts.map((r) => [r.status, r]));
    const total = counts.reduce((n, r) => n + r.total, 0);
    const day = counts.reduce((n, r) => n + r.last_24h, 0);
    const ahead = counts.reduce((n, r) => n + r.ahead, 0);
    const rows = await Promise.all(recent.map((r) => toScanRow(r, signer)));
    return sendPage(c, deps, {
      title: 'Overview',
      announcements: (
        <Announcements
          timeZone={zone}
          items={announcements.map((a) => ({
            id: a.id,
            title: a.title,
            body: a.body,
            publishedAt: a.published_at,
            safeHtml: safeHtml(a.body, a.format),
          }))}
        />
      ),
      children: (
        <>
          {pending.length > 0 && (
            <p class="flash flash-info">
              <a href="/admin/registrations">
                {pending.length} account {pending.length === 1 ? 'request waits' : 'requests wait'} for a
                decision
              </a>
            </p>
          )}
          <section aria-labelledby="counts-title">
            <h2 id="counts-title">Scans</h2>
            <table class="data-table counts" id="scan-counts">
              <caption class="visually-hidden">Scans by status</caption>
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Last 24 hours
                  </th>
                  <th scope="col" class="num">
                    All
                  </th>
                </tr>
              </thead>
              <tbody>
                {SCAN_STATUSES.map((s) => (
                  <tr>
                    <th scope="row" data-label="Status">
                      <a href={`/scans?status=${s}`}>
                        <StatusBadge status={s as ScanStatus} />
                      </a>
                    </th>
                    <td class="num" data-label="Last 24 hours">
                      {byStatus.get(s)?.last_24h ?? 0}
                    </td>
                    <td class="num" data-label="All">
                      {byStatus.get(s)?.total ?? 0}
                    </td>
                  </tr>
                ))}
                <tr>
                  <th scope="row" data-label="Status">
                    Total
                  </th>
                  <td class="num" data-label="Last 24 hours">
                    {day}
                  </td>
                  <td class="num" data-label="All">
                    {total}
                  </td>
                </tr>
              </tbody>
            </table>
            {ahead > 0 && (
              <p class="flash flash-info" id="captured-ahead">
                {ahead} {ahead === 1 ? 'scan has' : 'scans have'} a capture time in the future (a device clock
                running ahead): counted in All, not in Last 24 hours. Check the devices' clocks on the{' '}
                <a href="/fleet">fleet page</a>.
              </p>
            )}
          </section>
          <section aria-labelledby="recent-title">
            <h2 id="recent-title">Recent scans</h2>
            {rows.length === 0 ? (
              <EmptyState title="No scans yet">
                <p>Scans appear here as soon as a device uploads them.</p>
              </EmptyState>
            ) : (
              <>
                <ScansTable rows={rows} caption="The most recent scans" />
                <p>
                  <a href="/scans">All scans →</a>
                </p>
              </>
            )}
          </section>
        </>
      ),
    });
  });
}
