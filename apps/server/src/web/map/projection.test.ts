import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elements } from '../test-svg.ts';
import { FarmMap, type GeoJsonPolygon } from './farm-map.tsx';
import {
  distanceM,
  fitViewport,
  fromSvg,
  metresPerUnitAt,
  project,
  toSvg,
  type Viewport,
} from './projection.ts';

// Pixel ↔ lon/lat: the geofence editor (static/js/geofence-view.js) turns a pointer back into lon/lat
// with `fromSvg` and the viewport the server wrote on the map; both must agree with what the server drew.

const FENCE: GeoJsonPolygon = {
  type: 'Polygon',
  coordinates: [
    [
      [-79.39, 43.65],
      [-79.38, 43.65],
      [-79.385, 43.657],
      [-79.39, 43.65],
    ],
  ],
};

const close = (a: readonly number[], b: readonly number[], eps: number) =>
  Math.abs(a[0]! - b[0]!) < eps && Math.abs(a[1]! - b[1]!) < eps;

describe('pixel ↔ lon/lat', () => {
  it('fromSvg inverts project, at the equator, mid-latitudes and near the poles', () => {
    for (const [lon, lat] of [
      [0, 0],
      [-79.3832, 43.6532],
      [151.2, -33.87],
      [25.5, 70.1],
    ] as const) {
      const v = fitViewport([[lon, lat]], 640, 420);
      const xy = project(v, [lon, lat]);
      assert.ok(close(xy, [320, 210], 1e-6), `centred: ${xy}`);
      assert.ok(close(fromSvg(v, xy), [lon, lat], 1e-9));
      const corner = fromSvg(v, [0, 0]);
      assert.ok(close(project(v, corner), [0, 0], 1e-6), 'the top-left pixel round-trips');
      assert.ok(corner[0] < lon && corner[1] > lat, 'top-left is north-west');
    }
  });

  it('one SVG unit is metresPerUnitAt metres of ground, east–west and north–south', () => {
    const v = fitViewport(FENCE.coordinates[0]!, 640, 420);
    const [x, y] = project(v, [-79.385, 43.653]);
    const here = fromSvg(v, [x, y]);
    const east = fromSvg(v, [x + 100, y]);
    const south = fromSvg(v, [x, y + 100]);
    const m = metresPerUnitAt(v, here[1]) * 100;
    assert.ok(Math.abs(distanceM(here, east) / m - 1) < 1e-4, `${distanceM(here, east)} vs ${m}`);
    assert.ok(Math.abs(distanceM(here, south) / m - 1) < 1e-3, `${distanceM(here, south)} vs ${m}`);
  });

  it('the viewport written on the map reads the drawn corners back to the geofence (within rounding)', () => {
    const svg = String(
      FarmMap({
        id: 'm',
        farmName: 'F',
        geofence: FENCE,
        scans: [],
        timeZone: 'UTC',
        width: 640,
        height: 420,
      }),
    );
    const g = elements(svg, 'g', 'map-view')[0]!.attrs;
    const v: Viewport = {
      width: 640,
      height: 420,
      scale: Number(g['data-scale']),
      originX: Number(g['data-origin-x']),
      originY: Number(g['data-origin-y']),
      metresPerUnit: 0,
    };
    const d = elements(svg, 'path', 'geofence')[0]!.attrs.d!;
    const drawn = [...d.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    const ring = FENCE.coordinates[0]!;
    assert.equal(drawn.length, ring.length);
    // toSvg rounds to 0.01 unit (about 1.5 cm here): read back, well within 1e-6°.
    drawn.forEach((xy, i) => {
      assert.ok(close(fromSvg(v, xy), ring[i]!, 1e-6), `${fromSvg(v, xy)} vs ${ring[i]}`);
    });
    assert.deepEqual(toSvg(v, ring[1]!), drawn[1]);
  });

  it('a map with nothing drawn still has a view over its extent (the editor starts there)', () => {
    const svg = String(
      FarmMap({ id: 'm', farmName: 'F', geofence: null, scans: [], timeZone: 'UTC', extent: [[10, 50]] }),
    );
    const g = elements(svg, 'g', 'map-view')[0]!.attrs;
    const v = {
      scale: Number(g['data-scale']),
      originX: Number(g['data-origin-x']),
      originY: Number(g['data-origin-y']),
    };
    assert.ok(
      close(fromSvg({ ...v, width: 640, height: 420, metresPerUnit: 0 }, [320, 210]), [10, 50], 1e-9),
    );
    assert.equal(elements(svg, 'text', 'chart-empty').length, 0);
  });
});
