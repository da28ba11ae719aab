import type { FrameQuality } from '@cti/imaging';
import type { QualityGateConfig } from '../config/agent-config.ts';
import type { ViewOutput } from './hint.ts';

export type RefusalReason =
  | 'no_frames'
  | 'off_animal'
  | 'saturated'
  | 'no_image'
  | 'frozen'
  | 'probe_disconnected'
  | 'disk_floor'
  | 'not_a_ribeye_view';

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

/** What to do, by the verdict's first specific reason (the codes of @cti/models' view verdict). */
const VIEW_ADVICE: Record<string, string> = {
  ribeye_cut_off: 'slide the probe so that the whole ribeye is on screen',
  longitudinal_view: 'turn the probe across the back (transverse) at the 12th–13th rib',
  no_ribeye_lens: 'move the probe to the 12th–13th rib, across the back, over the ribeye',
  rump_view: 'move the probe to the 12th–13th rib, across the back, over the ribeye',
  probe_lifted: 'press the probe flat on the animal, with gel',
  motion_blur: 'hold the probe still, then press',
  off_animal: 'put the probe on the animal, with gel',
  too_dark: 'raise the gain or press the probe on with more gel',
  saturated: 'lower the gain',
  low_contrast: 'check the gain and the probe contact',
};
const DEFAULT_ADVICE = 're-position the probe across the back at the 12th–13th rib, ribeye in view';

/** The view threshold a capture applies; null = no view gate (quality gate off, or no view verdict). */
export function viewThreshold(view: ViewOutput | null | undefined, gate: QualityGateConfig): number | null {
  if (!gate.enabled || !view) return null;
  return gate.minRibeyeView ?? view.threshold;
}

/**
 * The view gate: refuse a frame whose view verdict is below `gate.minRibeyeView` (default: the
 * verdict's own threshold). No verdict (no hint or no view card) → no view gate.
 */
export function checkView(view: ViewOutput | null | undefined, gate: QualityGateConfig): GateVerdict {
  const threshold = viewThreshold(view, gate);
  if (threshold === null || !view || view.ribeyeView >= threshold) return { ok: true };
  const details = view.reasons.filter((r) => r !== 'not_a_ribeye_view');
  const advice = VIEW_ADVICE[details[0] ?? ''] ?? DEFAULT_ADVICE;
  return {
    ok: false,
    reason: 'not_a_ribeye_view',
    message: `not a ribeye view (ribeye_view ${view.ribeyeView.toFixed(2)} < ${threshold.toFixed(2)}${details.length ? `: ${details.join(', ')}` : ''}): ${advice}`,
  };
}
