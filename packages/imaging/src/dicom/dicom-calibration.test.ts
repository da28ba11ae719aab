import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DICOM_SYNTAX,
  type DicomElementSpec,
  dcm,
  dicomBytes,
  dicomImageElements,
  dicomTag as t,
  ultrasoundRegion,
} from '@cti/testkit';
import { ImageDecodeError } from '../image-decode-error.ts';
import { decodeDicom } from './decode-dicom.ts';

const [W, H] = [64, 48];
const pixels = Uint8Array.from({ length: W * H }, (_, i) => i % 251);
const REGIONS = t(0x0018, 0x6011);
const calibrationOf = async (extra: DicomElementSpec[], syntax: string = DICOM_SYNTAX.explicit) =>
  (
    await decodeDicom(
      dicomBytes({ syntax, elements: [...dicomImageElements({ width: W, height: H, pixels }), ...extra] }),
    )
  ).calibration;
const close = (actual: number | undefined, expected: number) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${actual} ≉ ${expected}`);

describe('dicomCalibration', () => {
  // hzau-201615.png: 0.29586 mm a pixel, read from its on-screen ruler.
  const hzau = ultrasoundRegion({
    box: [0, 0, W - 1, H - 1],
    deltaX: 0.029586,
    deltaY: 0.029586,
    frequencyKhz: 3500,
    referenceY: { pixel: 0, value: 0 },
  });

  for (const [label, syntax, undefinedLength] of [
    ['explicit VR, undefined-length items', DICOM_SYNTAX.explicit, true],
    ['implicit VR, defined lengths', DICOM_SYNTAX.implicit, false],
    ['implicit VR, undefined-length items', DICOM_SYNTAX.implicit, true],
    ['deflated', DICOM_SYNTAX.deflated, true],
  ] as const) {
    test(`the 2D tissue region's PhysicalDeltaY in cm gives mm a pixel (${label})`, async () => {
      const c = await calibrationOf(
        [
          dcm.sq(REGIONS, [hzau], { undefinedLength }),
          dcm.str(t(0x0008, 0x0070), 'LO', 'Hitachi Aloka'),
          dcm.str(t(0x0008, 0x1090), 'LO', 'ProSound'),
          dcm.str(t(0x0018, 0x5010), 'LO', 'UST-5820-5\\linear'),
        ],
        syntax,
      );
      close(c.pixelSpacingMm, 0.29586);
      close(c.pixelAspect, 1);
      close(c.depthCm, H * 0.029586);
      assert.equal(c.frequencyMhz, 3.5);
      assert.equal(c.probeModel, 'Hitachi Aloka UST-5820-5');
      assert.equal(c.spacingSource, 'ultrasound_region');
      assert.deepEqual(c.notes, []);
    });
  }

  test('regions that are not 2D tissue in cm are passed over; disagreeing ones: the largest, noted', async () => {
    const doppler = ultrasoundRegion({ box: [0, 0, W - 1, 9], deltaX: 0.5, deltaY: 0.5, dataType: 3 });
    const mMode = ultrasoundRegion({ box: [0, 0, W - 1, 9], deltaX: 0.5, deltaY: 0.5, spatialFormat: 2 });
    const inches = ultrasoundRegion({ box: [0, 0, W - 1, H - 1], deltaX: 0.5, deltaY: 0.5, units: 2 });
    const small = ultrasoundRegion({ box: [0, 0, 9, 9], deltaX: 0.01, deltaY: 0.01 });
    const large = ultrasoundRegion({ box: [10, 5, 59, 44], deltaX: 0.04, deltaY: 0.02 });
    const c = await calibrationOf([
      dcm.sq(REGIONS, [doppler, mMode, inches, small, large], { undefinedLength: true }),
    ]);
    close(c.pixelSpacingMm, 0.2);
    close(c.pixelAspect, 2);
    assert.equal(c.depthCm, undefined, 'the region starts at row 5 and states no reference: no depth');
    assert.match(
      c.notes.join(' '),
      /2 2D tissue regions disagree on their calibration: took the largest \(10,5,59,44\)/,
    );
    assert.match(c.notes.join(' '), /does not start at the skin: no depth/);
    const deeper = ultrasoundRegion({
      box: [0, 0, W - 1, H - 1],
      deltaX: 0.1,
      deltaY: 0.1,
      referenceY: { pixel: 0, value: 2 },
    });
    const zoomed = await calibrationOf([dcm.sq(REGIONS, [deeper])]);
    close(zoomed.pixelSpacingMm, 1);
    assert.equal(zoomed.depthCm, undefined, 'a region that starts 2 cm deep');
  });

  test('a region sequence with no usable region: no spacing, even with Pixel Spacing present', async () => {
    const c = await calibrationOf([
      dcm.sq(REGIONS, [ultrasoundRegion({ box: [0, 0, 9, 9], deltaX: 0.1, deltaY: 0.1, units: 0 })]),
      dcm.str(t(0x0028, 0x0030), 'DS', '0.3\\0.3'),
    ]);
    assert.equal(c.pixelSpacingMm, undefined);
    assert.match(c.notes.join(), /no 2D tissue region calibrated in cm/);
  });

  test('no region sequence: Pixel Spacing, else Imager Pixel Spacing (row spacing first); else nothing', async () => {
    const px = await calibrationOf([dcm.str(t(0x0028, 0x0030), 'DS', '0.25\\0.3')]);
    assert.deepEqual(
      [px.pixelSpacingMm, px.pixelAspect, px.spacingSource],
      [0.25, 0.3 / 0.25, 'pixel_spacing'],
    );
    const imager = await calibrationOf([dcm.str(t(0x0018, 0x1164), 'DS', '0.2\\0.2')]);
    assert.deepEqual(
      [imager.pixelSpacingMm, imager.pixelAspect, imager.spacingSource],
      [0.2, 1, 'imager_pixel_spacing'],
    );
    const none = await calibrationOf([]);
    assert.deepEqual(none, { probeModel: undefined, notes: [] });
  });

  test('a region whose box lies outside the frame is passed over, however large, and noted', async () => {
    const outside = ultrasoundRegion({ box: [0, 0, 4 * W, 4 * H], deltaX: 0.5, deltaY: 0.5 });
    const inverted = ultrasoundRegion({ box: [W - 1, H - 1, 0, 0], deltaX: 0.5, deltaY: 0.5 });
    const c = await calibrationOf([dcm.sq(REGIONS, [outside, inverted, hzau])]);
    close(c.pixelSpacingMm, 0.29586);
    assert.match(c.notes.join(), /2 2D tissue region\(s\) not within the 64×48 frame passed over/);
  });

  test('a zero, negative or non-finite PhysicalDelta makes a region unusable', async () => {
    for (const [deltaX, deltaY] of [
      [0.03, 0],
      [0.03, -0.03],
      [-0.03, 0.03],
      [Number.NaN, 0.03],
      [0.03, Number.POSITIVE_INFINITY],
    ]) {
      const c = await calibrationOf([
        dcm.sq(REGIONS, [ultrasoundRegion({ box: [0, 0, W - 1, H - 1], deltaX: deltaX!, deltaY: deltaY! })]),
      ]);
      assert.equal(c.pixelSpacingMm, undefined, `${deltaX}, ${deltaY}`);
    }
  });

  test('a region sequence written as UN (a converter that did not know it) is read in implicit VR', async () => {
    for (const undefinedLength of [false, true]) {
      const asUn = { ...dcm.sq(REGIONS, [hzau], { undefinedLength }), vr: 'UN' };
      const c = await calibrationOf([asUn]);
      close(c.pixelSpacingMm, 0.29586);
    }
  });

  test('a region sequence of more than 256 items is refused by name, not held in memory', async () => {
    const many = Array.from({ length: 257 }, () => hzau);
    await assert.rejects(calibrationOf([dcm.sq(REGIONS, many)]), (err: unknown) => {
      assert.ok(err instanceof ImageDecodeError);
      assert.equal(err.code, 'not_image');
      assert.match(
        err.message,
        /^image: DICOM sequence \(0018,6011\) holds more than 256 items, at byte \d+$/,
      );
      return true;
    });
    close((await calibrationOf([dcm.sq(REGIONS, many.slice(1))])).pixelSpacingMm, 0.29586);
  });

  test('an item and a sequence of defined length that also end with their delimiters (some writers)', async () => {
    // The region item's elements as a writer lays them out: a file's dataset, after its meta group.
    const written = dicomBytes({ syntax: DICOM_SYNTAX.explicit, elements: hzau });
    const body = written.subarray(144 + written.readUInt32LE(140));
    const delimiter = (element: number) =>
      Buffer.from([0xfe, 0xff, element & 0xff, element >> 8, 0, 0, 0, 0]);
    const itemHeader = Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0]);
    itemHeader.writeUInt32LE(body.length + 8, 4);
    const value = Buffer.concat([itemHeader, body, delimiter(0xe00d), delimiter(0xe0dd)]);
    const c = await calibrationOf([{ tag: REGIONS, vr: 'SQ', encode: () => value }]);
    close(c.pixelSpacingMm, 0.29586);
  });
});
