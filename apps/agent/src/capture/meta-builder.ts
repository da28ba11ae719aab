import { formatProblem, META_VERSION, type MetaJson, validateMeta } from '@cti/contracts';
import type { FrameQuality } from '@cti/imaging';
import type { ClockStatus } from '../device/clock-sync.ts';
import type { Firmware } from '../device/firmware.ts';
import type { Frame, ProbeIdentity } from '../frames/frame-source.ts';
import type { GpsFix } from '../gps/nmea.ts';
import type { HintOutput } from './hint.ts';

export type MetaInput = {
  deviceCode: string;
  captureId: string;
  capturedAt: Date;
  operatorId: string | null;
  farmId: string | null;
  gps: GpsFix | null;
  probe: ProbeIdentity | null;
  firmware: Firmware;
  imageName: string;
  imageSha256: string;
  clock: ClockStatus;
  frame: Frame;
  sourceKind: string;
  quality: FrameQuality;
  hint: (HintOutput & { sha256?: string }) | null;
  /** The ear tag read at the chute for this animal (src/eid), when there is one. */
  animal?: { eid: string; readAt: Date } | null;
  /** mm per pixel from the agent's config (probe.pixel_spacing_mm); a frame's own value wins. */
  configuredPixelSpacingMm?: number;
  /** A pixel's width ÷ height from the config (probe.pixel_aspect); a frame's own value wins. */
  configuredPixelAspect?: number;
};

/** An invalid meta.json is a bug in this agent, never the technician's fault: report it loudly. */
export class InvalidMetaError extends Error {
  override name = 'InvalidMetaError';
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

/** meta.json `inference_summary` from a hint result (shared with `cti-agent hint`). */
export function inferenceSummary(hint: NonNullable<MetaInput['hint']>) {
  const at = hint.model.lastIndexOf('@');
  const name = at > 0 ? hint.model.slice(0, at) : hint.model;
  const version = at > 0 ? hint.model.slice(at + 1) : 'unknown';
  return {
    ribeye_bbox: hint.ribeyeBbox,
    mask_iou_hint: Math.min(1, Math.max(0, hint.score)),
    model: { name, version, ...(hint.sha256 ? { sha256: hint.sha256 } : {}) },
  };
}

/** meta.json v1 for one capture (spec §5.2 + contracts' additive clock/acquisition), validated. */
export function buildMeta(m: MetaInput): MetaJson {
  const { frame } = m;
  const probeModel = m.probe?.model ?? frame.acquisition.probeModel;
  const frequency = m.probe?.frequencyMhz ?? frame.acquisition.frequencyMhz;
  const bbox = m.hint?.ribeyeBbox;
  const pixelSpacing = frame.acquisition.pixelSpacingMm ?? m.configuredPixelSpacingMm;
  const pixelAspect = frame.acquisition.pixelAspect ?? m.configuredPixelAspect;
  const meta = {
    meta_version: META_VERSION,
    device_code: m.deviceCode,
    capture_id: m.captureId,
    captured_at: m.capturedAt.toISOString(),
    operator_id: m.operatorId,
    farm_id: m.farmId,
    gps: m.gps,
    probe: probeModel ? { model: probeModel, ...(frequency ? { frequency_mhz: frequency } : {}) } : null,
    firmware: m.firmware,
    image_sha256: m.imageSha256,
    mask_sha256: null,
    files: { image_relpath: m.imageName, mask_relpath: null, extra: [] },
    // A degenerate box (the model saw no ribeye) is no hint: omit rather than write an invalid bbox.
    ...(m.hint && bbox && bbox[0] < bbox[2] && bbox[1] < bbox[3]
      ? { inference_summary: inferenceSummary(m.hint) }
      : {}),
    clock: { synced: m.clock.synced, source: m.clock.source },
    ...(m.animal ? { animal: { eid: m.animal.eid, read_at: m.animal.readAt.toISOString() } } : {}),
    acquisition: {
      source: m.sourceKind,
      frame_seq: frame.seq,
      width_px: frame.width,
      height_px: frame.height,
      ...(frame.acquisition.depthCm ? { depth_cm: frame.acquisition.depthCm } : {}),
      ...(pixelSpacing ? { pixel_spacing_mm: pixelSpacing } : {}),
      ...(pixelAspect ? { pixel_aspect: pixelAspect } : {}),
      ...(frame.acquisition.gainDb !== undefined ? { gain_db: frame.acquisition.gainDb } : {}),
      quality: {
        mean_intensity: r3(m.quality.meanIntensity),
        contrast: r3(m.quality.contrast),
        sharpness: r3(m.quality.sharpness),
        dark_fraction: r3(m.quality.darkFraction),
        saturated_fraction: r3(m.quality.saturatedFraction),
      },
    },
  };
  const result = validateMeta(meta);
  if (!result.ok) {
    throw new InvalidMetaError(
      `built an invalid meta.json for ${m.captureId}: ${result.problems.map(formatProblem).join('; ')}`,
    );
  }
  return result.value;
}
