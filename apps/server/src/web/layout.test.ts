import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Announcements } from './components/announcements.tsx';
import { renderPage } from './layout.tsx';
import { isCurrent, navFor } from './nav-items.ts';
import { elements } from './test-svg.ts';
import type { Role } from './view-types.ts';

const assets = { url: (p: string) => `/static/${p}?v=test` };
const page = (roles: Role[] | null, extra: Partial<Parameters<typeof renderPage>[0]> = {}) =>
  renderPage({
    title: 'Scans',
    assets,
    currentPath: '/scans/abc',
    viewer: roles ? { name: 'Fran Farmer', email: 'fran@example.com', roles } : null,
    csrfToken: roles ? 'tok-123' : undefined,
    unreadNotifications: 3,
    ...extra,
  });

describe('navFor', () => {
  it('adapts the links to the roles', () => {
    const labels = (roles: Role[]) => navFor(roles).map((i) => i.label);
    assert.deepEqual(labels(['farmer']), ['Scans', 'Animals', 'Groups', 'Farms', 'Reports']);
    assert.deepEqual(labels(['technician']), ['Scans', 'Animals', 'Groups', 'Farms', 'Reports', 'Fleet']);
    assert.deepEqual(labels(['admin']).slice(-3), ['Fleet', 'Users', 'Announcements']);
    assert.deepEqual(labels(['farmer', 'technician']), labels(['technician']));
    assert.deepEqual(navFor([]), []);
  });

  it('marks a section current for its sub-pages only', () => {
    assert.equal(isCurrent('/scans', '/scans'), true);
    assert.equal(isCurrent('/scans', '/scans/123'), true);
    assert.equal(isCurrent('/scans', '/scansx'), false);
  });
});

describe('Layout', () => {
  it('has a doctype, language, viewport, the stylesheet and a skip link to main', () => {
    const html = page(['farmer']);
    assert.ok(html.startsWith('<!doctype html><html lang="en">'));
    assert.equal(
      elements(html, 'meta').find((m) => m.attrs.name === 'viewport')!.attrs.content,
      'width=device-width, initial-scale=1',
    );
    assert.equal(
      elements(html, 'link').find((l) => l.attrs.rel === 'stylesheet')!.attrs.href,
      '/static/app.css?v=test',
    );
    const skip = elements(html, 'a', 'skip-link')[0]!;
    assert.equal(skip.attrs.href, '#main');
    assert.equal(elements(html, 'main')[0]!.attrs.id, 'main');
    assert.equal(elements(html, 'title')[0]!.text, 'Scans · CTI');
    for (const landmark of ['<header', '<nav', '<main', '<footer'])
      assert.ok(html.includes(landmark), landmark);
  });

  it("shows a farmer the farmer's links, the current section, the unread badge and a sign-out form with the CSRF token", () => {
    const html = page(['farmer']);
    const nav = elements(html, 'a').filter((a) => a.attrs.href?.startsWith('/') && !a.attrs.class);
    assert.ok(!html.includes('href="/fleet"') && !html.includes('href="/admin/users"'));
    assert.equal(nav.find((a) => a.attrs['aria-current'] === 'page')?.text, 'Scans');
    assert.match(
      html,
      /Notifications<span class="badge" aria-hidden="true">3<\/span><span class="visually-hidden">, 3 unread<\/span>/,
    );
    const form = elements(html, 'form')[0]!;
    assert.deepEqual([form.attrs.method, form.attrs.action], ['post', '/sign-out']);
    assert.equal(elements(html, 'input').find((i) => i.attrs.name === '_csrf')!.attrs.value, 'tok-123');
    assert.equal(elements(html, 'meta').find((m) => m.attrs.name === 'csrf-token')!.attrs.content, 'tok-123');
  });

  it('shows "99+" and tells screen readers "more than 99" beyond 99 unread (the pages count up to 100)', () => {
    const html = page(['farmer'], { unreadNotifications: 100 });
    assert.match(
      html,
      /<span class="badge" aria-hidden="true">99\+<\/span><span class="visually-hidden">, more than 99 unread<\/span>/,
    );
  });

  it('shows an admin the admin links and a signed-out visitor only sign-in and registration', () => {
    assert.ok(page(['admin']).includes('href="/admin/users"'));
    const anon = page(null);
    assert.ok(anon.includes('href="/sign-in"') && anon.includes('href="/register"'));
    assert.ok(!anon.includes('href="/scans"') && !anon.includes('csrf-token') && !anon.includes('<form'));
  });

  it('loads page scripts as external modules and has no inline script, style attribute or event handler', () => {
    const html = page(['technician'], {
      scripts: ['js/live-scans.js'],
      flash: [{ kind: 'success', text: 'Saved' }],
    });
    const scripts = elements(html, 'script');
    assert.deepEqual(
      scripts.map((s) => [s.attrs.type, s.attrs.src, s.text]),
      [
        ['module', '/static/js/submit-once.js?v=test', ''],
        ['module', '/static/js/live-scans.js?v=test', ''],
      ],
    );
    assert.ok(!/\sstyle="/.test(html), 'no style attributes');
    assert.ok(!/\son[a-z]+="/.test(html), 'no inline event handlers');
    assert.ok(!/<style/.test(html), 'no style elements');
    assert.equal(elements(html, 'div', 'flash')[0]!.attrs.role, 'status');
  });

  it('escapes whatever text it is given (titles, names, announcements)', () => {
    const html = page(['farmer'], {
      title: '<img src=x onerror=alert(1)>',
      viewer: { name: '<script>alert(1)</script>', email: 'a@b', roles: ['farmer'] },
      announcements: Announcements({
        items: [
          {
            id: '1',
            title: '<b>Hi</b>',
            body: 'line <script>x()</script>\n\nsecond',
            publishedAt: '2025-09-09T14:00:00Z',
          },
        ],
        timeZone: 'America/Toronto',
      }),
    });
    assert.ok(!html.includes('<script>') && !html.includes('<img src=x') && !html.includes('<b>Hi'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.deepEqual(
      elements(html, 'p')
        .filter((p) => p.text.startsWith('line') || p.text === 'second')
        .map((p) => p.text),
      ['line <script>x()</script>', 'second'],
    );
  });
});
