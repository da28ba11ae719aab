import { DISK_INODES_SHORT } from '@cti/contracts';
import { listFarms } from '../../access/farm-queries.ts';
import {
  listNotifications,
  markAllRead,
  markRead,
  type NotificationRow,
} from '../../access/notification-queries.ts';
import { isInt8Id, UUID_RE } from '../../api/request-validation.ts';
import { ActionForm } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { movedBetween } from '../components/event-summary.ts';
import { LocalTime } from '../components/local-time.tsx';
import { Pagination, pageHref } from '../components/pagination.tsx';
import { formatAge } from './fleet-page.tsx';
import {
  commonZone,
  type PageDeps,
  type PageRouter,
  pageNotFound,
  readForm,
  redirectDone,
  sendPage,
  userOf,
} from './page-kit.tsx';

const PAGE_SIZE = 50;

type Payload = Record<string, unknown>;
const str = (p: Payload, k: string) =>
  typeof p[k] === 'string' || typeof p[k] === 'number' ? String(p[k]) : undefined;
const id = (p: Payload, k: string) => {
  const v = str(p, k);
  return v && UUID_RE.test(v) ? v : undefined;
};

/** A notification in words, with a link to what it is about (payload values are shown as text only). */
export function describe(n: Pick<NotificationRow, 'type' | 'payload'>): { text: string; href?: string } {
  const p = (n.payload && typeof n.payload === 'object' ? n.payload : {}) as Payload;
  const scan = id(p, 'scan_id');
  const capture = str(p, 'capture_id') ?? 'a scan';
  const device = str(p, 'device_code') ?? 'a device';
  // The device's own page (review r11 F8); the fleet for an old payload without a device id.
  const deviceId = id(p, 'device_id');
  const deviceHref = deviceId ? `/fleet/${deviceId}` : '/fleet';
  switch (n.type) {
    case 'scan_graded': {
      const rea = str(p, 'rea_cm2');
      return {
        text: `Scan ${capture} graded${str(p, 'grade') ? ` ${str(p, 'grade')}` : ''}${rea ? `, ribeye area ${rea} cm²` : ''}`,
        href: scan && `/scans/${scan}`,
      };
    }
    case 'scan_corrected': {
      const rea = str(p, 'rea_cm2');
      return {
        text: `Scan ${capture} corrected by hand${rea ? `: ribeye area ${rea} cm²` : ''}`,
        href: scan && `/scans/${scan}`,
      };
    }
    case 'scan_rejected':
      return { text: `Scan ${capture} rejected (grade R)`, href: scan && `/scans/${scan}` };
    case 'grading_failed':
      return {
        text: `Grading of scan ${capture} failed${str(p, 'reason') ? `: ${str(p, 'reason')}` : ''}`,
        href: scan && `/scans/${scan}`,
      };
    // came_here_at: told as of the device's arrival from a farm the reader cannot see (review r14 F3).
    case 'device_silent':
      return {
        text: `Device ${device} went silent${str(p, 'came_here_at') ? ': not heard since it came here' : ''}`,
        href: deviceHref,
      };
    case 'device_back': {
      const lasted = Number(str(p, 'silent_for_s'));
      const here = str(p, 'came_here_at') ? ' since it came here' : '';
      return {
        text: `Device ${device} is back${Number.isFinite(lasted) ? ` after ${formatAge(lasted)} without a heartbeat${here}` : ''}`,
        href: deviceHref,
      };
    }
    case 'device_backlog':
      return { text: `Device ${device} has an upload backlog`, href: deviceHref };
    case 'device_disk_low': {
      const inodes = typeof p.free_inodes === 'number' ? p.free_inodes : null;
      return {
        text:
          inodes !== null && inodes < DISK_INODES_SHORT
            ? `Device ${device} is out of inodes on its disk (${inodes} left): it refuses every capture`
            : `Device ${device} is low on disk space`,
        href: deviceHref,
      };
    }
    case 'device_clock_unsynced':
      return { text: `Device ${device} has an unsynchronised clock`, href: deviceHref };
    case 'scan_farm_ambiguous': {
      const farms = Array.isArray(p.candidate_farms)
        ? (p.candidate_farms as Payload[]).map((f) => str(f, 'name')).filter((n) => n !== undefined)
        : [];
      const named = farms.length > 0 ? farms.join(', ') : 'several farms';
      return {
        text:
          p.reason === 'device_moved'
            ? `Scan ${capture} was taken about when its device moved between ${movedBetween(farms.join(', '), farms.length, p)}, by a clock that cannot tell which side: no farm was chosen, assign it`
            : `Scan ${capture} lies in the geofences of ${named}: no farm was chosen, assign it`,
        href: scan && `/scans/${scan}`,
      };
    }
    case 'registration_pending':
      return { text: `${str(p, 'email') ?? 'Someone'} asked for an account`, href: '/admin/registrations' };
    default:
      return { text: n.type.replace(/_/g, ' '), href: scan && `/scans/${scan}` };
  }
}

/** GET /notifications (the viewer's own, newest first), POST /notifications/:id/read, POST /notifications/read-all. */
export function notificationPages(app: PageRouter, deps: PageDeps) {
  const { sql } = deps;
  app.get('/notifications', async (c) => {
    const principal = userOf(c);
    const before = c.req.query('before') ?? '';
    const beforeId = isInt8Id(before) ? before : undefined;
    const [rows, farms] = await Promise.all([
      listNotifications(sql, principal, { beforeId, limit: PAGE_SIZE + 1 }),
      listFarms(sql, principal),
    ]);
    const zone = commonZone(farms);
    const page = rows.slice(0, PAGE_SIZE);
    const unread = page.some((n) => !n.is_read);
    return sendPage(c, deps, {
      title: 'Notifications',
      children: (
        <>
          {unread && (
            <ActionForm action="/notifications/read-all" csrfToken={principal.csrfToken}>
              Mark all as read
            </ActionForm>
          )}
          {page.length === 0 ? (
            <EmptyState title="No notifications" />
          ) : (
            <ul class="notifications" id="notifications">
              {page.map((n) => {
                const { text, href } = describe(n);
                return (
                  <li class={n.is_read ? 'notification' : 'notification notification-unread'}>
                    <p>
                      {!n.is_read && <strong class="badge-text">New </strong>}
                      {href ? <a href={href}>{text}</a> : text}
                    </p>
                    <p class="muted">
                      <LocalTime utc={n.created_at} timeZone={zone} />
                    </p>
                    {!n.is_read && (
                      <ActionForm
                        action={`/notifications/${n.id}/read`}
                        csrfToken={principal.csrfToken}
                        variant="link"
                      >
                        Mark as read<span class="visually-hidden">: {text}</span>
                      </ActionForm>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
          <Pagination
            newerHref={beforeId ? pageHref('/notifications', {}) : null}
            olderHref={
              rows.length > PAGE_SIZE ? pageHref('/notifications', { before: page.at(-1)!.id }) : null
            }
          />
        </>
      ),
    });
  });

  app.post('/notifications/read-all', async (c) => {
    await readForm(c);
    await markAllRead(sql, userOf(c));
    return redirectDone(c, '/notifications', 'notifications-read');
  });

  app.post('/notifications/:id/read', async (c) => {
    const raw = c.req.param('id') ?? '';
    if (!isInt8Id(raw)) throw pageNotFound();
    await readForm(c);
    if (!(await markRead(sql, userOf(c), raw))) throw pageNotFound();
    return redirectDone(c, '/notifications', 'notification-read');
  });
}
