import type { GrayImage } from '@cti/imaging';
import { type GradingFeatures, type Mask, renderGradingOverlay } from '@cti/models';
import type { Grade } from './grade-rules.ts';

const fixed = (v: number | null, digits: number) => (v === null ? null : v.toFixed(digits));

/** The figures burnt into the overlay, in the bitmap font's alphabet (upper case, digits, . - : /). */
export function captionLines(features: GradingFeatures, grade: Grade, confidence: number): string[] {
  const rea = fixed(features.rea_cm2, 1);
  const fat = fixed(features.fat_thickness_mm, 1);
  const spacing = fixed(features.pixel_spacing_mm, 3);
  return [
    `GRADE ${grade}  CONF ${confidence.toFixed(2)}`,
    rea === null ? `REA -  AREA ${features.roi_area_px} PX` : `REA ${rea} CM2`,
    fat === null ? `FAT -` : `FAT ${fat} MM`,
    spacing === null
      ? 'NO SPACING: PIXELS ONLY'
      : `${spacing} MM/PX ${features.pixel_spacing_source.toUpperCase().replace('_', ' ')}`,
    // Non-square pixels change every area: shown whenever declared (never for assumed square).
    ...(features.pixel_aspect === 1
      ? []
      : [
          `PIXEL ASPECT ${fixed(features.pixel_aspect, 3)} ${features.pixel_aspect_source.toUpperCase().replace('_', ' ')}`,
        ]),
  ];
}

/** The overlay PNG of one grading: outline, fat line (when measured) and the caption. */
export function renderOverlay({
  gray,
  mask,
  features,
  grade,
  confidence,
}: {
  gray: GrayImage;
  mask: Mask;
  features: GradingFeatures;
  grade: Grade;
  confidence: number;
}): Promise<Buffer> {
  return renderGradingOverlay({
    gray,
    mask,
    fat: features.fat_thickness_px === null ? null : features.fat_position,
    lines: captionLines(features, grade, confidence),
  });
}
