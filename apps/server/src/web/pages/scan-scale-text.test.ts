import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scaleText } from './scan-detail-page.tsx';

test('the scale line says the spacing and the pixel aspect with where each came from', () => {
  assert.equal(
    scaleText({
      pixel_spacing_mm: 0.1,
      pixel_spacing_source: 'ruler',
      pixel_aspect: 1,
      pixel_aspect_source: 'assumed_square',
    }),
    '0.100 mm per pixel, from the on-screen ruler; square pixels assumed',
  );
  assert.equal(
    scaleText({
      pixel_spacing_mm: 0.25,
      pixel_spacing_source: 'meta',
      pixel_aspect: 1,
      pixel_aspect_source: 'device_calibration',
    }),
    '0.250 mm per pixel, from meta.json; square pixels, from the device calibration',
  );
  assert.equal(
    scaleText({
      pixel_spacing_mm: 0.2,
      pixel_spacing_source: 'meta',
      pixel_aspect: 1.125,
      pixel_aspect_source: 'meta',
    }),
    '0.200 mm per pixel, from meta.json; pixels 1.125 as wide as tall, from meta.json',
  );
  // Graded before sources and aspects were recorded: square pixels, the source not named.
  assert.equal(scaleText({ pixel_spacing_mm: 0.18 }), '0.180 mm per pixel; square pixels assumed');
  assert.equal(scaleText(null), 'no pixel spacing (measured in pixels only); square pixels assumed');
  assert.equal(
    scaleText({ pixel_spacing_mm: null, pixel_spacing_source: 'none' }),
    'no pixel spacing (measured in pixels only); square pixels assumed',
  );
});
