import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elements } from '../test-svg.ts';
import { EmptyState } from './empty-state.tsx';
import { FlashMessages } from './flash-messages.tsx';
import { Pagination, pageHref } from './pagination.tsx';

describe('Pagination', () => {
  it('links older and newer pages with rel next/prev and keeps the filters', () => {
    const older = pageHref('/scans?farm=f1&status=graded&before=old', { before: 'c2', after: null });
    assert.equal(older, '/scans?farm=f1&status=graded&before=c2');
    const html = String(
      Pagination({ newerHref: '/scans?after=c1', olderHref: older, status: 'Scans 51–100' }),
    );
    assert.deepEqual(
      elements(html, 'a').map((a) => [a.attrs.rel, a.attrs.href]),
      [
        ['prev', '/scans?after=c1'],
        ['next', older],
      ],
    );
    assert.equal(elements(html, 'nav')[0]!.attrs['aria-label'], 'Pages');
  });

  it('disables the missing direction and renders nothing for a single page', () => {
    const first = String(Pagination({ olderHref: '/scans?before=c9' }));
    assert.equal(elements(first, 'span', 'button')[0]!.attrs['aria-disabled'], 'true');
    assert.equal(elements(first, 'a').length, 1);
    assert.equal(Pagination({}), null);
  });
});

describe('FlashMessages and EmptyState', () => {
  it('reads errors out at once and the rest politely', () => {
    const html = String(
      FlashMessages({
        messages: [
          { kind: 'error', text: 'Not saved' },
          { kind: 'success', text: 'Saved <b>' },
        ],
      }),
    );
    assert.deepEqual(
      elements(html, 'div', 'flash').map((d) => d.attrs.role),
      ['alert', 'status'],
    );
    assert.ok(html.includes('Saved &lt;b&gt;'));
    assert.equal(FlashMessages({ messages: [] }), null);
  });

  it('says what is empty and offers the next step', () => {
    const html = String(
      EmptyState({
        title: 'No scans yet',
        children: 'Captures appear here minutes after upload.',
        action: { href: '/devices', label: 'Check the devices' },
      }),
    );
    assert.equal(elements(html, 'p', 'empty-title')[0]!.text, 'No scans yet');
    assert.equal(elements(html, 'a')[0]!.attrs.href, '/devices');
  });
});
