import type { FrameQuality } from '@cti/imaging';
import type { QualityGateConfig } from '../config/agent-config.ts';

export type RefusalReason = 'no_frames' | 'off_animal' | 'saturated' | 'no_image' | 'frozen' | 'disk_floor';

export type GateVerdict = { ok: true } | { ok: false; reason: RefusalReason; message: string };

const pct = (x: number) => `${Math.round(x * 100)}%`;

/**
 * The on-device quality gate: refuse what should never reach the server. Messages are for the
 * technician's status screen and the journal, so they say what to do.
 */
export function checkQuality(
  q: FrameQuality,
  gate: QualityGateConfig,
  differenceToLastCapture: number | null,
): GateVerdict {
  if (!gate.enabled) return { ok: true };
  // Sector scans on a console screen have wide black margins (mean can fall below 10 with real
  // echoes inside), so a low mean only counts as "near-black" when there is little structure too.
  const nearBlack =
    q.darkFraction > gate.maxDarkFraction ||
    (q.meanIntensity < gate.minMeanIntensity && q.contrast < 2 * gate.minContrast);
  if (nearBlack) {
    return {
      ok: false,
      reason: 'off_animal',
      message: `image is near-black (mean ${q.meanIntensity.toFixed(1)}, ${pct(q.darkFraction)} dark): is the probe on the animal with gel?`,
    };
  }
  if (q.saturatedFraction > gate.maxSaturatedFraction) {
    return {
      ok: false,
      reason: 'saturated',
      message: `image is saturated (${pct(q.saturatedFraction)} white): lower the gain`,
    };
  }
  if (q.contrast < gate.minContrast) {
    return {
      ok: false,
      reason: 'no_image',
      message: `image is flat (contrast ${q.contrast.toFixed(1)}): no echo structure visible`,
    };
  }
  if (differenceToLastCapture !== null && differenceToLastCapture <= gate.frozenMaxDifference) {
    return {
      ok: false,
      reason: 'frozen',
      message: 'image is identical to the previous capture: is the probe image frozen or the feed stalled?',
    };
  }
  return { ok: true };
}
