import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { elements } from '../test-svg.ts';
import { FarmMap, type GeoJsonPolygon, type MapScan } from './farm-map.tsx';
import {
  distanceM,
  fitViewport,
  insidePolygon,
  mercator,
  scaleBarLength,
  tilesFor,
  unmercator,
} from './projection.ts';

const LAT = 43.6532;
const LON = -79.3832;
// A square paddock 1 km on each side, centred on the spec's GPS point.
const box = (lon: number, lat: number, wLon: number, hLat: number): GeoJsonPolygon => ({
  type: 'Polygon',
  coordinates: [
    [
      [lon - wLon / 2, lat - hLat / 2],
      [lon + wLon / 2, lat - hLat / 2],
      [lon + wLon / 2, lat + hLat / 2],
      [lon - wLon / 2, lat + hLat / 2],
      [lon - wLon / 2, lat - hLat / 2],
    ],
  ],
});
const extent = (d: string) => {
  const nums = [...d.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  const xs = nums.map((n) => n[0]);
  const ys = nums.map((n) => n[1]);
  return { minX: Math.min(...xs), maxX: Math.max(...xs), minY: Math.min(...ys), maxY: Math.max(...ys) };
};
const render = (geofence: GeoJsonPolygon | null, scans: MapScan[], tileUrl?: string) =>
  String(
    FarmMap({
      id: 'map',
      farmName: 'North Farm',
      geofence,
      scans,
      timeZone: 'America/Toronto',
      tileUrl,
      tileAttribution: '© test tiles',
    }),
  );

describe('projection', () => {
  it('round-trips lon/lat through Web Mercator', () => {
    const [lon, lat] = unmercator(mercator([LON, LAT]));
    assert.ok(Math.abs(lon - LON) < 1e-9 && Math.abs(lat - LAT) < 1e-9);
  });

  it('tests points against polygons with holes', () => {
    const outer = box(0, 0, 2, 2).coordinates[0]!;
    const hole = box(0, 0, 1, 1).coordinates[0]!;
    assert.equal(insidePolygon([0.8, 0.8], [outer, hole]), true);
    assert.equal(insidePolygon([0, 0], [outer, hole]), false);
    assert.equal(insidePolygon([3, 0], [outer]), false);
  });

  it('rounds scale bars to 1, 2, 5 × 10ⁿ', () => {
    assert.deepEqual(scaleBarLength(370), { metres: 200, label: '200 m' });
    assert.deepEqual(scaleBarLength(2600), { metres: 2000, label: '2 km' });
    assert.deepEqual(scaleBarLength(60), { metres: 50, label: '50 m' });
  });
});

describe('FarmMap', () => {
  it('draws a square paddock square, with a scale bar that measures true ground distance', () => {
    const side = 1000; // metres
    const hLat = (side / distanceM([0, 0], [0, 1])) * 1;
    const wLon = side / distanceM([LON - 0.5, LAT], [LON + 0.5, LAT]);
    const svg = render(box(LON, LAT, wLon, hLat), []);
    const e = extent(elements(svg, 'path', 'geofence')[0]!.attrs.d!);
    const [w, h] = [e.maxX - e.minX, e.maxY - e.minY];
    assert.ok(Math.abs(w / h - 1) < 0.01, `width ${w}, height ${h}`);
    // Fitted with 24 px padding into 640 × 420: the square is 372 px tall, centred.
    assert.ok(Math.abs(h - 372) < 0.1, String(h));
    assert.ok(Math.abs((e.minX + e.maxX) / 2 - 320) < 0.1 && Math.abs((e.minY + e.maxY) / 2 - 210) < 0.1);
    const bar = elements(svg, 'path').find((p) => p.attrs['data-metres'])!;
    const barPx = Number(bar.attrs.d!.match(/H([\d.]+)/)![1]);
    const metres = Number(bar.attrs['data-metres']);
    // 640 px ≈ 1,720 m of ground: a quarter of it (430 m) rounds down to a 200 m bar.
    assert.equal(metres, 200);
    assert.ok(
      Math.abs(barPx / w - metres / side) < 0.01,
      `bar ${barPx}px for ${metres} m, paddock ${w}px for ${side} m`,
    );
    assert.equal(elements(svg, 'text').find((t) => t.text === '200 m')?.text, '200 m');
    assert.equal(elements(svg, 'image').length, 0, 'no tiles without a tile URL');
    assert.ok(svg.includes('class="north-arrow"'));
  });

  it('shows the Mercator stretch at high latitude (1° × 1° at 60° N is twice as tall as wide)', () => {
    const svg = render(box(10, 60, 0.01, 0.01), []);
    const e = extent(elements(svg, 'path', 'geofence')[0]!.attrs.d!);
    assert.ok(Math.abs((e.maxY - e.minY) / (e.maxX - e.minX) - 2) < 0.01);
  });

  it('places scans where they were taken, marks those outside the fence, counts those without GPS', () => {
    const fence = box(LON, LAT, 0.01, 0.01);
    const svg = render(fence, [
      {
        id: 'in',
        lon: LON,
        lat: LAT,
        grade: 'A',
        label: 'Scan cap_1',
        capturedAt: '2025-09-09T14:18:32Z',
        href: '/scans/in',
      },
      { id: 'out', lon: LON + 0.0049, lat: LAT + 0.006, grade: 'R' },
      { id: 'nogps', lon: null, lat: null },
    ]);
    const dots = elements(svg, 'circle', 'scan-point');
    assert.deepEqual(
      dots.map((d) => d.attrs['data-scan-id']),
      ['in', 'out'],
    );
    // The scan at the fence's centre is drawn at the centre of the drawn fence.
    const e = extent(elements(svg, 'path', 'geofence')[0]!.attrs.d!);
    assert.ok(Math.abs(Number(dots[0]!.attrs.cx) - (e.minX + e.maxX) / 2) < 0.5);
    assert.ok(Math.abs(Number(dots[0]!.attrs.cy) - (e.minY + e.maxY) / 2) < 0.5);
    assert.ok(Number(dots[1]!.attrs.cy) < e.minY, 'the outside scan is drawn north of the fence');
    assert.equal(dots[0]!.attrs.class, 'scan-point grade-a');
    assert.equal(dots[1]!.attrs.class, 'scan-point grade-r outside');
    // North is up: the scan further north has the smaller y.
    assert.ok(Number(dots[1]!.attrs.cy) < Number(dots[0]!.attrs.cy));
    assert.equal(
      elements(svg, 'title').find((t) => t.text.startsWith('Scan cap_1'))!.text,
      'Scan cap_1, 2025-09-09 10:18 EDT, grade A',
    );
    assert.equal(elements(svg, 'a')[0]!.attrs.href, '/scans/in');
    assert.equal(elements(svg, 'p', 'chart-note')[0]!.text, '1 scan has no GPS position and is not shown.');
    assert.match(elements(svg, 'desc')[0]!.text, /2 scan positions, 1 outside the geofence/);
  });

  it('centres a single scan without a geofence and shows an empty state with nothing at all', () => {
    const one = render(null, [{ id: 's', lon: LON, lat: LAT }]);
    const dot = elements(one, 'circle', 'scan-point')[0]!;
    assert.deepEqual([Number(dot.attrs.cx), Number(dot.attrs.cy)], [320, 210]);
    assert.equal(
      elements(render(null, []), 'text', 'chart-empty')[0]!.text,
      'No geofence and no scan positions for this farm yet',
    );
  });

  it('adds background tiles that cover the map only when a tile URL is configured', () => {
    const svg = render(box(LON, LAT, 0.01, 0.01), [], 'https://tiles.test/{z}/{x}/{y}.png');
    const images = elements(svg, 'image');
    assert.ok(images.length >= 1);
    const hrefs = images.map((i) => i.attrs.href!);
    assert.ok(
      hrefs.every((h) => /^https:\/\/tiles\.test\/\d+\/\d+\/\d+\.png$/.test(h)),
      hrefs.join(),
    );
    const v = fitViewport(box(LON, LAT, 0.01, 0.01).coordinates[0]!, 640, 420);
    const { z, tiles } = tilesFor(v);
    const minX = Math.min(...tiles.map((t) => t.svgX));
    const maxX = Math.max(...tiles.map((t) => t.svgX + t.size));
    const minY = Math.min(...tiles.map((t) => t.svgY));
    const maxY = Math.max(...tiles.map((t) => t.svgY + t.size));
    assert.ok(
      minX <= 0 && minY <= 0 && maxX >= 640 && maxY >= 420,
      JSON.stringify({ z, minX, maxX, minY, maxY }),
    );
    // Tile pixels close to map units: the tile size is between 128 and 512 SVG units.
    assert.ok(tiles[0]!.size >= 128 && tiles[0]!.size <= 512);
    assert.equal(elements(svg, 'text', 'map-attribution')[0]!.text, '© test tiles');
  });
});
