import { columnSpans, darkFraction, frameLevels, type GrayImage } from '@cti/imaging';
import type { Mask } from '@cti/models';

export type QualityReason = 'too_dark' | 'saturated' | 'low_contrast' | 'shadowed';

/** One problem found, and whether it makes the image unusable (reject) or usable with caution. */
export type QualityFinding = {
  reason: QualityReason;
  severity: 'reject' | 'marginal';
  value: number;
  limit: number;
};

export type QualityAssessment = {
  findings: QualityFinding[];
  metrics: {
    mean_intensity: number;
    contrast: number;
    dark_fraction: number;
    saturated_fraction: number;
    shadowed_columns: number | null;
    /** Dark share of the ribeye's region (its columns, from the field's top to its floor); null without one. */
    ribeye_region_dark_fraction: number | null;
  };
};

const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Share of the ribeye's columns lying in an acoustic shadow: columns whose mean gray inside the mask is
 * under 40 % of the median column's (a rib or a poor-contact stripe darkening part of the ribeye).
 */
export function shadowedColumnShare(gray: GrayImage, mask: Mask): number | null {
  const spans = columnSpans(mask);
  if (!spans || spans.x1 - spans.x0 < 8) return null;
  const means: number[] = [];
  for (let i = 0; i < spans.top.length; i++) {
    const x = spans.x0 + i;
    let sum = 0;
    let n = 0;
    for (let y = spans.top[i]!; y < spans.bottom[i]!; y++) {
      if (mask.data[y * gray.width + x] !== 1) continue;
      sum += gray.data[y * gray.width + x]!;
      n++;
    }
    if (n > 0) means.push(sum / n);
  }
  const median = [...means].sort((a, b) => a - b)[Math.floor(means.length / 2)]!;
  if (median <= 0) return null;
  return means.filter((m) => m < 0.4 * median).length / means.length;
}

/**
 * The region a grader reads on the image: the ribeye's columns from the field's top (skin, fat) down to
 * its floor. Null for an empty mask.
 */
export function ribeyeRegion(
  mask: Mask,
  scanArea: [number, number, number, number],
): [number, number, number, number] | null {
  const spans = columnSpans(mask);
  if (!spans) return null;
  const [x0, , x1, y1] = spans.bbox;
  const top = Math.min(scanArea[1], spans.bbox[1]);
  return x1 > x0 && y1 > top ? [x0, top, x1, y1] : null;
}

/**
 * Image-quality findings on the scan area, in the manner of a central ultrasound lab's image score:
 * a near-black field, a field washed out by gain, no contrast (reject); a dark or bright field, little
 * contrast, a ribeye partly in a shadow (usable with caution). A near-black field rejects only when the
 * ribeye's own region (`ribeyeRegion`) is near-black too: a deep field fades to black below the ribeye on
 * many scanners, and a ribeye that can be seen above it is usable with caution (M too_dark), not
 * unusable. Thresholds are documented in docs/adr/0003-grading-worker.md.
 */
export function assessImageQuality(
  gray: GrayImage,
  { scanArea, mask }: { scanArea: [number, number, number, number]; mask: Mask },
): QualityAssessment {
  const q = frameLevels(gray, { roi: scanArea });
  const region = ribeyeRegion(mask, scanArea);
  const regionDark = region ? darkFraction(gray, region) : null;
  const shadow = shadowedColumnShare(gray, mask);
  const findings: QualityFinding[] = [];
  const add = (reason: QualityReason, severity: 'reject' | 'marginal', value: number, limit: number) =>
    findings.push({ reason, severity, value: round(value), limit });
  if (q.darkFraction > 0.92 && (regionDark === null || regionDark > 0.92))
    add('too_dark', 'reject', regionDark ?? q.darkFraction, 0.92);
  else if (q.darkFraction > 0.92) add('too_dark', 'marginal', q.darkFraction, 0.92);
  else if (q.meanIntensity < 22) add('too_dark', 'marginal', q.meanIntensity, 22);
  if (q.saturatedFraction > 0.3) add('saturated', 'reject', q.saturatedFraction, 0.3);
  else if (q.saturatedFraction > 0.06) add('saturated', 'marginal', q.saturatedFraction, 0.06);
  if (q.contrast < 4) add('low_contrast', 'reject', q.contrast, 4);
  else if (q.contrast < 10) add('low_contrast', 'marginal', q.contrast, 10);
  if (shadow !== null && shadow > 0.2) add('shadowed', 'marginal', shadow, 0.2);
  return {
    findings,
    metrics: {
      mean_intensity: round(q.meanIntensity),
      contrast: round(q.contrast),
      dark_fraction: round(q.darkFraction),
      saturated_fraction: round(q.saturatedFraction),
      shadowed_columns: shadow === null ? null : round(shadow),
      ribeye_region_dark_fraction: regionDark === null ? null : round(regionDark),
    },
  };
}
