import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GradingFeatures } from '@cti/models';
import { captionLines } from './overlay-caption.ts';

const features = (aspect: Partial<GradingFeatures>) =>
  ({
    roi_area_px: 5000,
    rea_cm2: 39.5,
    fat_thickness_mm: 8.2,
    pixel_spacing_mm: 0.296,
    pixel_spacing_source: 'meta',
    pixel_aspect: 1,
    pixel_aspect_source: 'assumed_square',
    ...aspect,
  }) as GradingFeatures;

test('the caption names a declared pixel aspect and its source; square pixels add no line', () => {
  assert.deepEqual(captionLines(features({}), 'A', 0.91), [
    'GRADE A  CONF 0.91',
    'REA 39.5 CM2',
    'FAT 8.2 MM',
    '0.296 MM/PX META',
  ]);
  assert.equal(
    captionLines(features({ pixel_aspect: 0.889, pixel_aspect_source: 'meta' }), 'A', 0.91)[4],
    'PIXEL ASPECT 0.889 META',
  );
  assert.equal(
    captionLines(features({ pixel_aspect: 1.0667, pixel_aspect_source: 'device_calibration' }), 'M', 0.6)[4],
    'PIXEL ASPECT 1.067 DEVICE CALIBRATION',
  );
});
