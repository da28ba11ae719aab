// Test helper (excluded from the build): the held-out-preset phantom ribeye the grading measures are
// tested on — a linear probe, cropped to its field, at most 400 px — with its gray image, true mask,
// field and pixel spacing.
import { generatePhantom, toGray } from '@cti/imaging';

export function ribeyePhantom(seed = 31) {
  const phantom = generatePhantom({ seed, preset: 'heldout', probe: 'linear', layout: 'crop', maxSide: 400 });
  const gray = toGray(phantom.image);
  return {
    phantom,
    gray,
    mask: { data: phantom.labels.ribeyeMask!, width: gray.width, height: gray.height },
    field: phantom.labels.params.scanArea,
    spacing: phantom.labels.pixelSpacingMm,
  };
}
