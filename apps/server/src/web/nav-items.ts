import type { Role } from './view-types.ts';

export type NavItem = { href: string; label: string };

// Links by the least role that may use the page; the access rules themselves live in the queries —
// hiding a link is convenience, not security.
const ITEMS: readonly (NavItem & { roles: readonly Role[] })[] = [
  { href: '/scans', label: 'Scans', roles: ['admin', 'technician', 'farmer'] },
  { href: '/animals', label: 'Animals', roles: ['admin', 'technician', 'farmer'] },
  { href: '/groups', label: 'Groups', roles: ['admin', 'technician', 'farmer'] },
  { href: '/farms', label: 'Farms', roles: ['admin', 'technician', 'farmer'] },
  { href: '/reports', label: 'Reports', roles: ['admin', 'technician', 'farmer'] },
  { href: '/fleet', label: 'Fleet', roles: ['admin', 'technician'] },
  { href: '/admin/users', label: 'Users', roles: ['admin'] },
  { href: '/admin/announcements', label: 'Announcements', roles: ['admin'] },
];

/** The header's links for someone holding `roles` (a user may hold several); none when signed out. */
export function navFor(roles: readonly Role[]): NavItem[] {
  return ITEMS.filter((item) => item.roles.some((r) => roles.includes(r))).map(({ href, label }) => ({
    href,
    label,
  }));
}

/** Whether `href` is the current section (so `/scans/123` marks "Scans"). */
export function isCurrent(href: string, currentPath: string): boolean {
  return currentPath === href || currentPath.startsWith(`${href}/`);
}
