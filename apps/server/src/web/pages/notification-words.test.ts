import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describe as words } from './notifications-page.tsx';

test('an ambiguous-farm notice names the candidate farms and links the scan', () => {
  const scan = '6f1c2b9e-3a4d-4c5e-8f70-1a2b3c4d5e6f';
  assert.deepEqual(
    words({
      type: 'scan_farm_ambiguous',
      payload: {
        scan_id: scan,
        capture_id: 'cap_1',
        candidate_farms: [
          { id: 'a', name: 'Big' },
          { id: 'b', name: 'Small' },
        ],
      },
    }),
    {
      text: 'Scan cap_1 lies in the geofences of Big, Small: no farm was chosen, assign it',
      href: `/scans/${scan}`,
    },
  );
  const moved = words({
    type: 'scan_farm_ambiguous',
    payload: {
      scan_id: scan,
      capture_id: 'cap_2',
      reason: 'device_moved',
      candidate_farms: [
        { id: 'a', name: 'Birch' },
        { id: 'b', name: 'Maple' },
      ],
    },
  });
  assert.equal(
    moved.text,
    'Scan cap_2 was taken about when its device moved between Birch, Maple, by a clock that cannot tell which side: no farm was chosen, assign it',
  );
});
