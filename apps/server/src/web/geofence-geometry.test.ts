import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cornersOf,
  drawingProblem,
  geofenceText,
  polygonOf,
  selfIntersects,
} from './static/js/geofence-geometry.js';
import { degreeLabel, graticuleStep } from './static/js/map-graticule.js';

// The geofence editor's pure geometry (static/js/geofence-geometry.js): what it writes into the farm
// form's textarea, what it reads back from it, and the warnings it shows before the server's check.

type P = [number, number];
const TRIANGLE: P[] = [
  [-79.39, 43.65],
  [-79.38, 43.65],
  [-79.385, 43.657],
];
const BOWTIE: P[] = [
  [0, 0],
  [1, 1],
  [1, 0],
  [0, 1],
];

describe('geofence geometry', () => {
  it('writes corners as a closed GeoJSON Polygon, rounded to 7 decimals, holes kept', () => {
    assert.deepEqual(polygonOf(TRIANGLE), { type: 'Polygon', coordinates: [[...TRIANGLE, TRIANGLE[0]]] });
    assert.equal(polygonOf([]), null);
    assert.equal(geofenceText([]), '');
    const text = geofenceText([[1.123456789, 2.987654321]]);
    assert.equal(text, '{"type":"Polygon","coordinates":[[[1.1234568,2.9876543],[1.1234568,2.9876543]]]}');
    const hole = [
      [0.2, 0.2],
      [0.3, 0.2],
      [0.3, 0.3],
      [0.2, 0.2],
    ];
    assert.deepEqual(polygonOf(TRIANGLE, [hole])!.coordinates[1], hole);
  });

  it('reads a Polygon, a Feature and a one-feature FeatureCollection back into corners', () => {
    const polygon = polygonOf(TRIANGLE)!;
    const expected = { corners: TRIANGLE, holes: [] };
    assert.deepEqual(cornersOf(JSON.stringify(polygon)), expected);
    assert.deepEqual(
      cornersOf(JSON.stringify({ type: 'Feature', properties: {}, geometry: polygon })),
      expected,
    );
    assert.deepEqual(
      cornersOf(
        JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: polygon }] }),
      ),
      expected,
    );
    assert.deepEqual(cornersOf('  '), { corners: [], holes: [] });
    // Altitude is dropped (the server stores 2-D too); an unclosed ring keeps all its corners.
    assert.deepEqual(
      cornersOf('{"type":"Polygon","coordinates":[[[1,2,300],[3,4,300],[5,6,300]]]}')!.corners,
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    );
  });

  it('refuses what the map cannot show: bad JSON, other geometry types, positions out of range', () => {
    for (const text of [
      '{"type":"Polygon",',
      '{"type":"Point","coordinates":[1,2]}',
      '{"type":"MultiPolygon","coordinates":[]}',
      '{"type":"Polygon","coordinates":[[[200,0],[1,1],[0,1],[200,0]]]}',
      '{"type":"Polygon","coordinates":[[["a",0]]]}',
      '{"type":"FeatureCollection","features":[]}',
      'null',
    ]) {
      assert.equal(cornersOf(text), null, text);
    }
  });

  it('finds edges that cross or touch, not shared corners', () => {
    assert.equal(selfIntersects(BOWTIE), true);
    assert.equal(selfIntersects(TRIANGLE), false);
    const square: P[] = [
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 1],
    ];
    assert.equal(selfIntersects(square), false);
    // A concave "arrow" is fine; a corner placed on a non-adjacent edge touches it.
    assert.equal(
      selfIntersects([
        [0, 0],
        [2, 0],
        [1, 1],
        [2, 2],
        [0, 2],
      ]),
      false,
    );
    assert.equal(
      selfIntersects([
        [0, 0],
        [2, 0],
        [2, 2],
        [1, 0],
        [0, 2],
      ]),
      true,
    );
  });

  it('warns of too few corners and crossing edges, in words', () => {
    assert.equal(drawingProblem([]), null, 'empty: no geofence, a valid choice');
    assert.match(drawingProblem(TRIANGLE.slice(0, 2))!, /at least 3 corners \(2 so far\)/);
    assert.match(drawingProblem(BOWTIE)!, /edges of the geofence cross/);
    assert.equal(drawingProblem(TRIANGLE), null);
  });

  it('labels the graticule at a round step with as many decimals as the step needs', () => {
    assert.equal(graticuleStep(0.012), 0.002, 'a 1 km paddock: lines every 0.002°');
    assert.equal(graticuleStep(0.0005), 0.0001);
    assert.equal(graticuleStep(40), 10);
    assert.equal(graticuleStep(340), 30, 'the whole world');
    assert.equal(degreeLabel(-79.386, 0.002, 'EW'), '79.386° W');
    assert.equal(degreeLabel(43.65, 0.05, 'NS'), '43.65° N');
    assert.equal(degreeLabel(-33.8, 0.1, 'NS'), '33.8° S');
    assert.equal(degreeLabel(20, 10, 'EW'), '20° E');
    assert.equal(degreeLabel(1e-12, 0.001, 'NS'), '0.000°', 'the equator has no hemisphere');
  });
});
